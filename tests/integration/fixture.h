// SPDX-License-Identifier: MIT
// A private mariadbd (and optionally memcached) for integration tests,
// started in a temp dir on unix sockets only (no TCP ports), and killed and
// removed again at teardown or process exit.
//
// Ownership: one process-wide Servers (servers()); the test program that
// called setup_mariadb() owns the server processes. Children made with fork()
// inherit the atexit cleanup, so they must leave with _exit(), never exit().
// Errors: setup functions return false after print_error() says why.
//
// Also the pieces every integration test shares: connect_app(),
// setup_migrated() for a group_setup, group_teardown() and assert_errc.
#pragma once

#include <sys/types.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "store/db.h"

namespace pp::test {

struct Servers {
    std::string dir;                  // the temp dir, removed at the end
    std::string db_sock, mc_sock;
    std::string source_root = ".";   // PP_SOURCE_ROOT, for sql/
    pid_t mariadbd = -1;
    pid_t memcached = -1;
    store::DbConfig root, app;        // root@localhost; the app user on the first database
};

Servers &servers();

// Full path of a server program in the usual sbin/bin dirs, else the bare
// name for execvp to find.
std::string program(const char *name);
// fork/exec with stdout to /dev/null and stderr to err_file (or /dev/null);
// the child dies with the test process.
pid_t spawn(const std::vector<std::string> &argv, const std::string &err_file = "");
// SIGTERM, wait up to timeout_sec, then SIGKILL; *pid becomes -1.
void stop(pid_t *pid, int timeout_sec);

// mkdtemp(dir_template) (e.g. "/tmp/pp-store-XXXXXX"), registers the exit
// cleanup, reads PP_SOURCE_ROOT, initialises the MariaDB client library,
// runs mariadb-install-db and starts mariadbd; sets servers().root.
bool setup_mariadb(const char *dir_template);
// Creates each database (utf8mb4_bin) and the app user 'pp' with ALL on
// them; sets servers().app to the first one.
bool create_app_databases(std::initializer_list<const char *> names);
// (Re)starts mariadbd / memcached on the sockets of servers().
bool start_mariadbd();
bool start_memcached();
// Stops memcached and mariadbd, ends the client library, removes the dir.
void teardown_servers();

// setup_mariadb(dir_template), create_app_databases({dbname}) and the
// migrations of sql/ applied to it as the app user.
bool setup_migrated(const char *dir_template, const char *dbname);
// A connection as the app user to `database` (default: servers().app's);
// fails the running cmocka test when there is none.
store::Db connect_app(const char *database = nullptr);
// cmocka group teardown: teardown_servers().
int group_teardown(void **state);

}  // namespace pp::test

// Asserts that a Result holds the error `expected`; the message names both.
// (Expands where cmocka's headers are included; errc_name is in common/result.h.)
#define assert_errc(result, expected) \
    assert_string_equal(std::string(pp::errc_name((result).error())).c_str(), \
                        std::string(pp::errc_name(expected)).c_str())

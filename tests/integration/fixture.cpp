// SPDX-License-Identifier: MIT
#include "fixture.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "vectors.h"  // cmocka includes

#include "store/cache.h"
#include "store/migrate.h"

namespace pp::test {
namespace {

namespace fs = std::filesystem;

Servers g_servers;

bool running_as_root() { return geteuid() == 0; }

int run_and_wait(const std::vector<std::string> &argv, const std::string &err_file)
{
    pid_t pid = spawn(argv, err_file);
    if (pid < 0) return -1;
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool exited(pid_t pid)
{
    int status = 0;
    return waitpid(pid, &status, WNOHANG) == pid;
}

// Last resort if a test crashes out of cmocka: no server may be left running.
void kill_children_at_exit()
{
    for (pid_t *p : {&g_servers.mariadbd, &g_servers.memcached}) {
        if (*p > 0) {
            kill(*p, SIGKILL);
            waitpid(*p, nullptr, 0);
            *p = -1;
        }
    }
    if (!g_servers.dir.empty()) {
        std::error_code ec;
        fs::remove_all(g_servers.dir, ec);
        g_servers.dir.clear();
    }
}

}  // namespace

Servers &servers() { return g_servers; }

std::string program(const char *name)
{
    for (const char *d : {"/usr/sbin/", "/usr/bin/", "/usr/local/sbin/", "/usr/local/bin/"}) {
        std::string p = std::string(d) + name;
        if (access(p.c_str(), X_OK) == 0) return p;
    }
    return name;  // let execvp search PATH
}

pid_t spawn(const std::vector<std::string> &argv, const std::string &err_file)
{
    pid_t pid = fork();
    if (pid != 0) return pid;
    // Child: die with the test even if it is SIGKILLed, so no server outlives it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = open("/dev/null", O_RDWR);
    int err = err_file.empty() ? devnull : open(err_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(err >= 0 ? err : devnull, 2);
    std::vector<char *> args;
    for (const std::string &a : argv) args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
}

void stop(pid_t *pid, int timeout_sec)
{
    if (*pid <= 0) return;
    kill(*pid, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_sec);
    while (std::chrono::steady_clock::now() < deadline) {
        if (exited(*pid)) {
            *pid = -1;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(*pid, SIGKILL);
    waitpid(*pid, nullptr, 0);
    *pid = -1;
}

bool start_mariadbd()
{
    Servers &s = g_servers;
    std::vector<std::string> argv = {
        program("mariadbd"), "--no-defaults", "--datadir=" + s.dir + "/db", "--tmpdir=" + s.dir + "/tmp",
        "--socket=" + s.db_sock, "--skip-networking", "--pid-file=" + s.dir + "/mysql.pid",
        "--log-error=" + s.dir + "/mysql.err", "--innodb-buffer-pool-size=32M"};
    if (running_as_root()) argv.push_back("--user=root");
    s.mariadbd = spawn(argv);
    if (s.mariadbd < 0) return false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        if (exited(s.mariadbd)) {
            s.mariadbd = -1;
            print_error("mariadbd exited early; see %s/mysql.err\n", s.dir.c_str());
            return false;
        }
        auto db = store::Db::connect(s.root);
        if (db) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    print_error("mariadbd did not accept connections within 30 s\n");
    return false;
}

bool start_memcached()
{
    Servers &s = g_servers;
    std::vector<std::string> argv = {program("memcached"), "-s", s.mc_sock, "-a", "0700", "-m", "16"};
    if (running_as_root()) {
        argv.push_back("-u");
        argv.push_back("root");
    }
    s.memcached = spawn(argv, s.dir + "/mc.err");
    if (s.memcached < 0) return false;
    auto cache = store::Cache::connect(s.mc_sock);
    if (!cache) return false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        if (exited(s.memcached)) {
            s.memcached = -1;
            return false;
        }
        if (cache->ping()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

bool setup_mariadb(const char *dir_template)
{
    Servers &s = g_servers;
    if (const char *root = std::getenv("PP_SOURCE_ROOT"); root && *root) s.source_root = root;
    std::string tmpl = dir_template;
    if (!mkdtemp(tmpl.data())) return false;
    s.dir = tmpl;
    // MariaDB's own tmpdir: servers sharing /tmp collide on temp tables.
    if (::mkdir((s.dir + "/tmp").c_str(), 0700) != 0) return false;
    std::atexit(kill_children_at_exit);
    s.db_sock = s.dir + "/mysql.sock";
    s.mc_sock = s.dir + "/mc.sock";

    if (!store::db_library_init()) return false;

    const passwd *pw = getpwuid(geteuid());
    std::string user = pw ? pw->pw_name : "root";
    int rc = run_and_wait({program("mariadb-install-db"), "--no-defaults", "--auth-root-authentication-method=normal",
                           "--datadir=" + s.dir + "/db", "--tmpdir=" + s.dir + "/tmp", "--user=" + user},
                          s.dir + "/install.err");
    if (rc != 0) {
        print_error("mariadb-install-db failed (%d); see %s/install.err\n", rc, s.dir.c_str());
        return false;
    }

    // With --auth-root-authentication-method=normal root@localhost has an
    // empty password; over the socket that works for any OS user.
    s.root.unix_socket = s.db_sock;
    s.root.user = "root";
    return start_mariadbd();
}

bool create_app_databases(std::initializer_list<const char *> names)
{
    Servers &s = g_servers;
    if (names.size() == 0) return false;
    auto root = store::Db::connect(s.root);
    if (!root) return false;
    // Our own fixed names, never input: a script is fine here.
    std::string script;
    for (const char *n : names)
        script += std::string("CREATE DATABASE ") + n + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;";
    script += "CREATE USER 'pp'@'localhost' IDENTIFIED BY 'test-only-password';";
    for (const char *n : names)
        script += std::string("GRANT ALL PRIVILEGES ON ") + n + ".* TO 'pp'@'localhost';";
    auto created = root->exec_script(script);
    if (!created) {
        print_error("creating databases failed: mysql error %u\n", root->last_error_number());
        return false;
    }
    s.app.unix_socket = s.db_sock;
    s.app.user = "pp";
    s.app.password = "test-only-password";
    s.app.database = *names.begin();
    return true;
}

void teardown_servers()
{
    stop(&g_servers.memcached, 10);
    stop(&g_servers.mariadbd, 60);
    store::db_library_end();
    kill_children_at_exit();  // removes the temp dir
}

bool setup_migrated(const char *dir_template, const char *dbname)
{
    if (!setup_mariadb(dir_template)) return false;
    if (!create_app_databases({dbname})) return false;
    auto db = store::Db::connect(g_servers.app);
    if (!db) {
        print_error("cannot connect to %s as the app user\n", dbname);
        return false;
    }
    std::string detail;
    auto m = store::migrate(*db, g_servers.source_root + "/sql", &detail);
    if (!m) {
        print_error("migrations failed: %s\n", detail.c_str());
        return false;
    }
    print_message("private mariadbd under %s, %zu migrations applied\n", g_servers.dir.c_str(), m->applied.size());
    return true;
}

store::Db connect_app(const char *database)
{
    store::DbConfig cfg = g_servers.app;
    if (database) cfg.database = database;
    unsigned err = 0;
    auto db = store::Db::connect(cfg, &err);
    if (!db)
        fail_msg("connect as pp to %s failed: %s (mysql error %u)", cfg.database.c_str(),
                 std::string(errc_name(db.error())).c_str(), err);
    return std::move(*db);
}

int group_teardown(void **)
{
    teardown_servers();
    return 0;
}

}  // namespace pp::test

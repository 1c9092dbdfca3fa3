// SPDX-License-Identifier: MIT
#include "cli/migrate_cmd.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/config.h"
#include "store/db.h"
#include "store/migrate.h"

namespace pp::cli {

int cmd_migrate(int argc, char **argv)
{
    std::string sql_dir = "/usr/share/patchproof/sql";
    for (int i = 0; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--sql-dir" && i + 1 < argc) {
            sql_dir = argv[++i];
        } else {
            std::fputs("usage: patchproof migrate [--sql-dir DIR]\n", stderr);
            return 2;
        }
    }
    std::string error_line;
    auto cfg = config::load([](const char *n) { return std::getenv(n); }, &error_line, config::Role::admin);
    if (!cfg) {
        std::fprintf(stderr, "migrate: %s\n", error_line.c_str());
        return 1;
    }
    if (!store::db_library_init()) {
        std::fputs("migrate: cannot initialise the MariaDB client library\n", stderr);
        return 1;
    }
    store::DbConfig dc = config::db_config(*cfg);
    dc.read_timeout_sec = 300;  // DDL on a large table can take a while
    dc.write_timeout_sec = 300;
    auto db = store::Db::connect(dc);
    if (!db) {
        std::fprintf(stderr, "migrate: cannot connect to MariaDB (%s)\n", std::string(errc_name(db.error())).c_str());
        return 1;
    }
    std::string detail;
    auto report = store::migrate(*db, sql_dir, &detail);
    if (!report) {
        std::fprintf(stderr, "migrate: %s\n", detail.c_str());
        return 1;
    }
    for (const auto &name : report->applied)
        std::printf("applied %s\n", name.c_str());
    std::printf("migrate: %zu applied, %zu already applied\n", report->applied.size(), report->already.size());
    return 0;
}

}  // namespace pp::cli

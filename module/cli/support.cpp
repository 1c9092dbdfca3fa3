// SPDX-License-Identifier: MIT
#include "cli/support.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include <sodium.h>

#include "common/clock.h"
#include "common/json.h"

namespace pp::cli {

std::optional<AdminEnv> open_admin_env(std::string_view who)
{
    const std::string w(who);
    std::string error_line;
    auto cfg = config::load([](const char *n) { return std::getenv(n); }, &error_line, config::Role::admin);
    if (!cfg) {
        std::fprintf(stderr, "%s: %s\n", w.c_str(), error_line.c_str());
        return std::nullopt;
    }
    if (!store::db_library_init()) {
        std::fprintf(stderr, "%s: cannot initialise the MariaDB client library\n", w.c_str());
        return std::nullopt;
    }
    store::DbConfig dc = config::db_config(*cfg);
    auto db = store::Db::connect(dc);
    sodium_memzero(dc.password.data(), dc.password.size());
    if (!db) {
        const std::string_view n = errc_name(db.error());
        std::fprintf(stderr, "%s: cannot connect to MariaDB (%.*s)\n", w.c_str(), static_cast<int>(n.size()),
                     n.data());
        return std::nullopt;
    }
    AdminEnv env{std::move(*cfg), std::nullopt};
    env.db.emplace(std::move(*db));
    return env;
}

int print_json_line(json_t *j)
{
    JsonPtr owned(j);
    char *text = owned ? json_dumps(owned.get(), JSON_COMPACT | JSON_PRESERVE_ORDER) : nullptr;
    if (!text)
        return 1;
    std::puts(text);
    std::free(text);
    return 0;
}

int report_failure(const char *who, const char *what, Errc e, bool json)
{
    const std::string_view n = errc_name(e);
    std::fprintf(stderr, "%s: %s (%.*s)\n", who, what, static_cast<int>(n.size()), n.data());
    if (json)
        print_json_line(json_pack("{s:b,s:s,s:s%}", "success", 0, "message", what, "error", n.data(), n.size()));
    return 1;
}

int64_t now_ms() { return wall_ms(); }

int run_subcommand(int argc, char **argv, std::initializer_list<Subcommand> subs, int (*usage)())
{
    if (argc < 1)
        return usage();
    const std::string_view sub = argv[0];
    for (const Subcommand &s : subs)
        if (sub == s.name)
            return s.run(argc - 1, argv + 1);
    return usage();
}

}  // namespace pp::cli

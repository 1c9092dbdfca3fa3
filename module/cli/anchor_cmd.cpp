// SPDX-License-Identifier: MIT
#include "cli/anchor_cmd.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <jansson.h>
#include <sodium.h>

#include "admin/anchor.h"
#include "cli/support.h"
#include "common/args.h"
#include "common/json.h"
#include "config/config.h"
#include "store/db.h"

namespace pp::cli {
namespace {

constexpr int kExitNotSigned = 3;
constexpr int kExitBusy = 4;

int usage()
{
    std::fputs("usage: patchproof anchor [--limit N]   N from 1 to 1000, default 100\n", stderr);
    return 2;
}

int fail(const char *what, Errc e) { return report_failure("anchor", what, e, false); }

// --limit N / --limit=N; nullopt after a usage message.
std::optional<int64_t> parse_args(int argc, char **argv)
{
    int64_t limit = admin::kAnchorDefaultLimit;
    for (int i = 0; i < argc; ++i) {
        const std::string_view a = argv[i];
        const char *value = nullptr;
        if (a == "--limit" && i + 1 < argc)
            value = argv[++i];
        else if (a.rfind("--limit=", 0) == 0)
            value = argv[i] + 8;
        if (!value) {
            usage();
            return std::nullopt;
        }
        auto n = parse_int_in(value, 1, admin::kAnchorMaxLimit);
        if (!n) {
            bad_int_option("anchor", "--limit", value, 1, admin::kAnchorMaxLimit);
            return std::nullopt;
        }
        limit = *n;
    }
    return limit;
}

std::optional<store::Db> connect(const config::Config &cfg)
{
    if (!store::db_library_init()) {
        std::fputs("anchor: cannot initialise the MariaDB client library\n", stderr);
        return std::nullopt;
    }
    store::DbConfig dc = config::db_config(cfg);
    auto db = store::Db::connect(dc);
    sodium_memzero(dc.password.data(), dc.password.size());
    if (!db) {
        fail("cannot connect to MariaDB", db.error());
        return std::nullopt;
    }
    return std::move(*db);
}

}  // namespace

int cmd_anchor(int argc, char **argv)
{
    auto limit = parse_args(argc, argv);
    if (!limit)
        return 2;
    std::string error_line;
    auto cfg = config::load([](const char *n) { return std::getenv(n); }, &error_line, config::Role::admin);
    if (!cfg) {
        std::fprintf(stderr, "anchor: %s\n", error_line.c_str());
        return 2;
    }
    auto db = connect(*cfg);
    if (!db)
        return 1;
    auto out = admin::batch_anchor(*db, {*limit, cfg->admin_wait_sec, cfg->admin_lease_sec});
    if (!out) {
        if (out.error() == Errc::conflict) {
            std::fputs("anchor: another batch-anchor run is in progress\n", stderr);
            return kExitBusy;
        }
        return fail("the run failed", out.error());
    }
    print_json_line(admin::anchor_outcome_json(*out));
    switch (out->state) {
    case admin::AnchorState::failed:
        std::fputs("anchor: the anchor job failed; its records wait for the next batch\n", stderr);
        return 1;
    case admin::AnchorState::waiting:
        std::fputs("anchor: not signed within ADMIN_WAIT_SEC; the worker goes on with the job\n", stderr);
        return kExitNotSigned;
    default:
        return 0;
    }
}

}  // namespace pp::cli

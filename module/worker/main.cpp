// SPDX-License-Identifier: MIT
// patchproof-worker [--once] [--id NAME]: anchors pending records on chain.
// Start-up follows patchproof-fcgi: configuration, secp256k1 context and the
// known-answer self-test, MariaDB and libcurl library initialisation; then
// the claim loop of worker/worker.h until SIGTERM/SIGINT.

#include <cstdio>
#include <cstdlib>
#include <string>

#include <curl/curl.h>

#include "config/config.h"
#include "log/log.h"
#include "server/startup.h"
#include "store/db.h"
#include "worker/worker.h"

namespace {

constexpr const char *kUsage = "usage: patchproof-worker [--once] [--id NAME]";

bool parse_args(int argc, char **argv, pp::worker::WorkerOptions &o)
{
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--once") {
            o.once = true;
        } else if (arg == "--id" && i + 1 < argc) {
            o.id = argv[++i];
            if (o.id.empty() || o.id.size() > 128)
                return false;
        } else {
            return false;
        }
    }
    return true;
}

int fail(const std::string &line)
{
    std::fprintf(stderr, "patchproof-worker: %s\n", line.c_str());
    return 1;
}

// Library globals released on every return path after they were set up.
struct Libraries {
    bool curl = false, db = false;
    ~Libraries()
    {
        if (curl)
            curl_global_cleanup();
        if (db)
            pp::store::db_library_end();
    }
};

}  // namespace

int main(int argc, char **argv)
{
    pp::log::set_component("worker");
    pp::worker::WorkerOptions opt;
    if (!parse_args(argc, argv, opt))
        return fail(kUsage);

    std::string error_line;
    auto cfg = pp::server::start_service(pp::config::Role::worker, &error_line);
    if (!cfg)
        return fail(error_line);
    Libraries libs;
    if (!pp::store::db_library_init())
        return fail("cannot initialise the MariaDB client library");
    libs.db = true;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return fail("cannot initialise libcurl");
    libs.curl = true;

    // Before any connection: a SIGTERM during start-up is honoured too.
    pp::worker::install_signal_handlers();
    return pp::worker::run(*cfg, opt);
}

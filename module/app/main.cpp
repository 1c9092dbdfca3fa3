// SPDX-License-Identifier: MIT
// patchproof-fcgi: the API service. Loads the configuration, runs the
// start-up self-test, opens the listener and hands it to the prefork master;
// each worker builds its own AppContext and serves requests.
//
// Where a request is handled: the route table is module/app/routes.cpp.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include <curl/curl.h>
#include <fcgiapp.h>

#include "app/pipeline.h"
#include "app/routes.h"
#include "common/args.h"
#include "common/json.h"
#include "config/config.h"
#include "log/log.h"
#include "server/metrics.h"
#include "server/prefork.h"
#include "server/startup.h"
#include "store/db.h"

namespace {

constexpr int kMaxWorkers = 256;

struct Args {
    std::string listen;
    int workers = 0;
    unsigned socket_mode = 0660;
};

// 0: parsed; 1: not understood (the caller prints the usage); 2: a bad
// value, already reported on one line.
int parse_args(int argc, char **argv, Args &a)
{
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--listen" && i + 1 < argc) {
            a.listen = argv[++i];
        } else if (arg == "--workers" && i + 1 < argc) {
            const char *v = argv[++i];
            auto n = pp::parse_int_in(v, 1, kMaxWorkers);
            if (!n)
                return pp::bad_int_option("patchproof-fcgi", "--workers", v, 1, kMaxWorkers);
            a.workers = static_cast<int>(*n);
        } else if (arg == "--socket-mode" && i + 1 < argc) {
            const char *v = argv[++i];
            auto mode = pp::parse_int_in(v, 0, 0777, 8);
            if (!mode)
                return pp::bad_int_option("patchproof-fcgi", "--socket-mode", v, 0, 0777, 8);
            a.socket_mode = static_cast<unsigned>(*mode);
        } else {
            return 1;
        }
    }
    return 0;
}

int fail(const std::string &line)
{
    // A plain line too, for people starting it by hand.
    std::fprintf(stderr, "patchproof-fcgi: %s\n", line.c_str());
    return 1;
}

}  // namespace

int main(int argc, char **argv)
{
    pp::log::set_component("fcgi");
    Args args;
    if (int rc = parse_args(argc, argv, args); rc == 2)
        return rc;
    else if (rc != 0)
        return fail("usage: patchproof-fcgi [--listen PATH|HOST:PORT] [--workers N] [--socket-mode OCTAL]");

    std::string error_line;
    auto cfg = pp::server::start_service(pp::config::Role::api, &error_line);
    if (!cfg)
        return fail(error_line);
    if (!pp::store::db_library_init())
        return fail("cannot initialise the MariaDB client library");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return fail("cannot initialise libcurl");
    if (FCGX_Init() != 0)
        return fail("cannot initialise libfcgi");

    std::string detail;
    auto fd = pp::server::open_listener(args.listen, args.socket_mode, &detail);
    if (!fd)
        return fail(detail);

    pp::server::SharedMetrics *metrics = pp::server::create_shared_metrics();
    if (!metrics)
        return fail("cannot map the shared metrics page");

    static pp::app::AppRouter router;
    pp::app::add_all_routes(router, *cfg);

    pp::server::PreforkOptions opt;
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    opt.workers = args.workers > 0 ? args.workers : static_cast<int>(2 * cores);
    pp::JsonPtr f(json_pack("{s:s,s:i}", "env", std::string(pp::config::env_name(cfg->env)).c_str(), "workers",
                        opt.workers));
    pp::log::info("patchproof-fcgi starting", f.get());
    const pp::config::Config &config = *cfg;
    return pp::server::run_master(*fd, opt, [&](int listen_fd) {
        pp::app::AppContext ctx{config, router, metrics, {}, {}, {}, {}, 0};
        return pp::app::worker_loop(ctx, listen_fd);
    });
}

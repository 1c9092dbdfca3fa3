// SPDX-License-Identifier: MIT
#include "app/pipeline.h"

#include <algorithm>
#include <chrono>
#include <exception>

#include "app/auth.h"
#include "app/ratelimit.h"
#include "common/json.h"
#include "http/fcgi.h"
#include "log/log.h"
#include "server/prefork.h"

namespace pp::app {
namespace {

constexpr size_t kUnmatchedRoute = server::kMaxRoutes - 1;  // metrics slot for 404/405

bool origin_allowed(const config::Config &cfg, std::string_view origin)
{
    return !origin.empty() &&
           std::find(cfg.cors_allowed_origins.begin(), cfg.cors_allowed_origins.end(), origin) !=
               cfg.cors_allowed_origins.end();
}

void add_cors(const config::Config &cfg, const http::Request &req, http::Response &resp)
{
    const std::string_view origin = req.header("origin");
    if (!origin_allowed(cfg, origin))
        return;
    resp.add_header("Access-Control-Allow-Origin", std::string(origin));
    resp.add_header("Vary", "Origin");
    resp.add_header("Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
}

http::Response preflight(const config::Config &cfg, const http::Request &req, const std::string &allow)
{
    const std::string_view origin = req.header("origin");
    if (!origin_allowed(cfg, origin))
        return http::error(403, http::code::forbidden, "Origin not allowed.");
    http::Response r = http::text(204, "");  // add_cors() adds the origin
    r.add_header("Access-Control-Allow-Methods", allow + ", OPTIONS");
    r.add_header("Access-Control-Allow-Headers", "Content-Type, Authorization, X-API-Key, X-Request-Id");
    r.add_header("Access-Control-Max-Age", "600");
    return r;
}

http::Response dispatch(AppContext &ctx, http::Request &req, FCGX_Request &fcgx, size_t &route_index)
{
    const auto match = ctx.router.match(req.method, req.path);
    if (req.method == "OPTIONS" && match.path_known)
        return preflight(ctx.cfg, req, match.allow);
    if (!match.route) {
        if (match.path_known) {
            http::Response r = http::error(405, http::code::method_not_allowed, "Method not allowed.");
            r.add_header("Allow", match.allow);
            return r;
        }
        return http::error(404, http::code::not_found, "Not found.");
    }
    const auto &route = *match.route;
    route_index = route.index;

    if (route.ip_rate_limited) {
        store::Cache *cache = ctx.cache();
        if (cache) {
            auto d = rate_check(*cache, "ip", req.remote_addr, ctx.cfg.public_api_max, ctx.cfg.public_api_window_ms,
                                now_ms());
            if (d && !d->allowed) {
                http::Response r = http::error(429, http::code::rate_limited, "Too many requests.");
                r.add_header("Retry-After", std::to_string(d->retry_after_sec));
                return r;
            }
            // memcached down: public routes stay up; SVD handlers refuse on their own.
        }
    }

    if (route.auth == http::Auth::api_key || route.auth == http::Auth::api_key_and_jwt) {
        if (!api_key_valid(ctx.cfg, req))
            return http::error(401, http::code::unauthorized, "A valid API key is required.");
    }

    switch (http::read_body(fcgx, req, route.body_limit)) {
    case http::BodyStatus::ok:
        break;
    case http::BodyStatus::too_large:
        return http::error(413, http::code::too_large, "Request body too large.");
    case http::BodyStatus::length_required:
        return http::error(400, http::code::validation, "Invalid Content-Length.");
    case http::BodyStatus::short_read:
        return http::error(400, http::code::validation, "Request body ended early.");
    }
    return route.handler(ctx, req, match.params);
}

void log_request(const http::Request &req, const std::string &route, int status, double seconds)
{
    // Integers only: the log writer emits canonical JSON, which has no floats.
    const json_int_t us = static_cast<json_int_t>(seconds * 1e6);
    JsonPtr f(json_pack("{s:s,s:s,s:s,s:i,s:I,s:I}", "request_id", req.request_id.c_str(), "method",
                        req.method.c_str(), "route", route.c_str(), "status", status, "latency_ms", us / 1000,
                        "latency_us", us));
    log::emit(status >= 500 ? log::Level::error : log::Level::info, "request", f.get());
}

}  // namespace

void handle_request(AppContext &ctx, FCGX_Request &fcgx)
{
    const auto started = std::chrono::steady_clock::now();
    http::Request req = http::read_request_head(fcgx);
    size_t route_index = kUnmatchedRoute;
    http::Response resp;
    try {
        resp = dispatch(ctx, req, fcgx, route_index);
    } catch (const std::exception &) {
        // Never the exception text: it could carry request data.
        resp = http::error(500, http::code::internal, "Internal error.");
    } catch (...) {
        resp = http::error(500, http::code::internal, "Internal error.");
    }
    resp.add_header("X-Request-Id", req.request_id);
    add_cors(ctx.cfg, req, resp);
    http::write_response(fcgx, resp);

    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (ctx.metrics)
        server::observe_request(*ctx.metrics, route_index, resp.status, seconds);
    const std::string route =
        route_index < ctx.router.routes().size() ? ctx.router.routes()[route_index].pattern : std::string("unmatched");
    log_request(req, route, resp.status, seconds);
}

int worker_loop(AppContext &ctx, int listen_fd)
{
    server::worker_install_signals();
    FCGX_Request fcgx;
    if (FCGX_InitRequest(&fcgx, listen_fd, 0) != 0)
        return 1;
    while (!server::worker_should_exit()) {
        if (FCGX_Accept_r(&fcgx) < 0)
            break;
        server::worker_request_begins();
        handle_request(ctx, fcgx);
        FCGX_Finish_r(&fcgx);
        server::worker_request_ends();
    }
    return 0;
}

}  // namespace pp::app

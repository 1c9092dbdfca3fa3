// SPDX-License-Identifier: MIT
#include "app/pipeline.h"

#include <algorithm>
#include <chrono>
#include <exception>

#include "app/auth.h"
#include "app/ratelimit.h"
#include "common/json.h"
#include "http/fcgi.h"
#include "http/serve.h"
#include "log/log.h"
#include "server/prefork.h"

namespace pp::app {
namespace {

constexpr size_t kUnmatchedRoute = server::kMaxRoutes - 1;  // metrics slot for 404/405

void add_cors(const config::Config &cfg, const http::Request &req, http::Response &resp)
{
    const std::string_view origin = req.header("origin");
    if (!origin_allowed(cfg, origin))
        return;
    resp.add_header("Access-Control-Allow-Origin", std::string(origin));
    resp.add_header("Vary", "Origin");
    resp.add_header("Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
}

}  // namespace

bool origin_allowed(const config::Config &cfg, std::string_view origin)
{
    return !origin.empty() &&
           std::find(cfg.cors_allowed_origins.begin(), cfg.cors_allowed_origins.end(), origin) !=
               cfg.cors_allowed_origins.end();
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

std::optional<http::Response> authenticate(AppContext &ctx, http::Request &req, http::Auth auth)
{
    using http::Auth;
    req.subject.clear();  // only ever what this request's token proves
    switch (auth) {
    case Auth::none:
        return std::nullopt;
    case Auth::api_key:
    case Auth::jwt:
    case Auth::api_key_and_jwt:
        break;
    default:
        // A route of another program's table: refuse rather than guess.
        return http::error(500, http::code::internal, "Internal error.");
    }
    if ((auth == Auth::api_key || auth == Auth::api_key_and_jwt) && !api_key_valid(ctx.cfg, req))
        return http::error(401, http::code::unauthorized, "A valid API key is required.");
    if (auth == Auth::jwt || auth == Auth::api_key_and_jwt) {
        AuthOutcome who = check_jwt(ctx, req);
        if (who.error)
            return std::move(*who.error);
        if (!who.subject || who.subject->user_id.empty())
            return http::error(401, http::code::token_invalid, "The token is invalid.");
        req.subject = std::move(who.subject->user_id);
    }
    return std::nullopt;
}

http::Response dispatch(AppContext &ctx, http::Request &req, const BodyReader &read_body, size_t &route_index)
{
    const auto match = ctx.router.match(req.method, req.path);
    if (req.method == "OPTIONS" && match.path_known)
        return preflight(ctx.cfg, req, match.allow);
    if (!match.route)
        return http::no_route(match);
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

    if (std::optional<http::Response> denied = authenticate(ctx, req, route.auth))
        return std::move(*denied);
    if (std::optional<http::Response> bad = http::body_error(read_body(req, route.body_limit)))
        return std::move(*bad);
    return route.handler(ctx, req, match.params);
}

void handle_request(AppContext &ctx, FCGX_Request &fcgx)
{
    const auto started = std::chrono::steady_clock::now();
    http::Request req = http::read_request_head(fcgx);
    size_t route_index = kUnmatchedRoute;
    http::Response resp;
    try {
        resp = dispatch(
            ctx, req, [&](http::Request &r, size_t limit) { return http::read_body(fcgx, r, limit); }, route_index);
    } catch (const std::exception &) {
        // Never the exception text: it could carry request data.
        resp = http::error(500, http::code::internal, "Internal error.");
    } catch (...) {
        resp = http::error(500, http::code::internal, "Internal error.");
    }
    resp.add_header("X-Request-Id", req.request_id);
    add_cors(ctx.cfg, req, resp);
    http::write_response(fcgx, resp);

    const auto took = std::chrono::steady_clock::now() - started;
    if (ctx.metrics)
        server::observe_request(*ctx.metrics, route_index, resp.status, std::chrono::duration<double>(took).count());
    const std::string_view route =
        route_index < ctx.router.routes().size() ? std::string_view(ctx.router.routes()[route_index].pattern)
                                                 : std::string_view("unmatched");
    http::log_request(req.request_id, req.method, route, resp.status, took);
}

int worker_loop(AppContext &ctx, int listen_fd)
{
    return http::accept_loop(listen_fd, [&](FCGX_Request &fcgx) { handle_request(ctx, fcgx); });
}

}  // namespace pp::app

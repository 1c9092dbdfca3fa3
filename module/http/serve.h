// SPDX-License-Identifier: MIT
// What every FastCGI program of ours (patchproof-fcgi, -kms, -devchain) does
// the same way around its handlers: the accept loop that drains on SIGTERM,
// 404/405 for unrouted requests, reading the body within the route's limit
// (413/400), and one log line per request.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>
#include <utility>

#include <fcgiapp.h>

#include "http/fcgi.h"
#include "http/http.h"
#include "http/router.h"
#include "server/prefork.h"

namespace pp::http {

// 405 with Allow when another method has this path, else 404.
template <typename Match>
Response no_route(const Match &m)
{
    if (!m.path_known)
        return error(404, code::not_found, "Not found.");
    Response r = error(405, code::method_not_allowed, "Method not allowed.");
    r.add_header("Allow", m.allow);
    return r;
}

// The answer for a body that could not be read, or nullopt when it was.
std::optional<Response> body_error(BodyStatus s);

// Route, then `before_body(ctx, req, route)` (authentication and the like; a
// returned Response ends the request), then the body, then the handler.
// *route_pattern names the matched route for logs ("unmatched" otherwise).
template <typename Ctx, typename BeforeBody>
Response dispatch(Ctx &ctx, const Router<Ctx> &router, FCGX_Request &fcgx, Request &req,
                  std::string_view *route_pattern, BeforeBody &&before_body)
{
    const auto m = router.match(req.method, req.path);
    if (!m.route)
        return no_route(m);
    *route_pattern = m.route->pattern;
    if (std::optional<Response> early = before_body(ctx, req, *m.route))
        return std::move(*early);
    if (std::optional<Response> bad = body_error(read_body(fcgx, req, m.route->body_limit)))
        return std::move(*bad);
    return m.route->handler(ctx, req, m.params);
}

// One JSON line: request id, method, route pattern, status, latency in
// whole ms and µs (the log writer emits canonical JSON, which has no floats).
void log_request(std::string_view request_id, std::string_view method, std::string_view route, int status,
                 std::chrono::steady_clock::duration took);

// The worker's accept loop: serve_one(fcgx) per request; SIGTERM ends an
// idle worker at once and a busy one after its request. Returns the exit code.
template <typename ServeOne>
int accept_loop(int listen_fd, ServeOne &&serve_one)
{
    server::worker_install_signals();
    FCGX_Request fcgx;
    if (FCGX_InitRequest(&fcgx, listen_fd, 0) != 0)
        return 1;
    while (!server::worker_should_exit()) {
        if (FCGX_Accept_r(&fcgx) < 0)
            break;
        server::worker_request_begins();
        serve_one(fcgx);
        FCGX_Finish_r(&fcgx);
        server::worker_request_ends();
    }
    FCGX_Free(&fcgx, 0);
    return 0;
}

}  // namespace pp::http

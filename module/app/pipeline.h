// SPDX-License-Identifier: MIT
// One request end to end, in the contract's order: route (404/405) → CORS
// preflight → per-IP rate limit → authentication (401) → body size (413) →
// handler (which validates the body: 415/400, then resource checks) →
// common headers, metrics and one log line. Nothing throws out of here.
#pragma once

#include <fcgiapp.h>

#include <functional>
#include <optional>

#include "app/context.h"
#include "http/fcgi.h"

namespace pp::app {

// Everything the route's auth column asks for, in the contract's order (API
// key, then JWT), before any byte of the body is read. On success a JWT
// route's subject is in req.subject; otherwise the 401 (or 503) to send.
std::optional<http::Response> authenticate(AppContext &ctx, http::Request &req, http::Auth auth);

// CORS: whether `origin` may read responses, and the preflight answer.
bool origin_allowed(const config::Config &cfg, std::string_view origin);
http::Response preflight(const config::Config &cfg, const http::Request &req, const std::string &allow);

// Reads the body into req within `limit` (fcgi in production, a stub in tests).
using BodyReader = std::function<http::BodyStatus(http::Request &req, size_t limit)>;

// One request after its head was read: route → preflight → per-IP limit →
// authenticate → body → handler. route_index names the route for metrics.
http::Response dispatch(AppContext &ctx, http::Request &req, const BodyReader &read_body, size_t &route_index);

void handle_request(AppContext &ctx, FCGX_Request &fcgx);

// The worker's accept loop: returns the process exit code.
int worker_loop(AppContext &ctx, int listen_fd);

}  // namespace pp::app

// SPDX-License-Identifier: MIT
#include "http/serve.h"

#include <string>

#include "common/json.h"
#include "log/log.h"

namespace pp::http {

std::optional<Response> body_error(BodyStatus s)
{
    switch (s) {
    case BodyStatus::ok:
        return std::nullopt;
    case BodyStatus::too_large:
        return error(413, code::too_large, "Request body too large.");
    case BodyStatus::length_required:
        return error(400, code::validation, "Invalid Content-Length.");
    case BodyStatus::short_read:
        return error(400, code::validation, "Request body ended early.");
    }
    return error(400, code::validation, "Request body could not be read.");
}

void log_request(std::string_view request_id, std::string_view method, std::string_view route, int status,
                 std::chrono::steady_clock::duration took)
{
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
    const std::string rid(request_id), m(method), r(route);
    JsonPtr f(json_pack("{s:s,s:s,s:s,s:i,s:I,s:I}", "request_id", rid.c_str(), "method", m.c_str(), "route",
                        r.c_str(), "status", status, "latency_ms", json_int_t(us / 1000), "latency_us",
                        json_int_t(us)));
    log::emit(status >= 500 ? log::Level::error : log::Level::info, "request", f.get());
}

}  // namespace pp::http

// SPDX-License-Identifier: MIT
// Transport-neutral request and response values, and the one error shape of
// DESIGN.md §3. A Request owns copies of everything it carries; a Response is
// plain data that module/http/fcgi.h writes out.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <jansson.h>

#include "common/json.h"

namespace pp::http {

struct Request {
    std::string method;        // "GET", "POST" …
    std::string path;          // from REQUEST_URI, without the query string
    std::string query;
    std::string content_type;  // raw header value, may be empty
    long long content_length = -1;  // -1 when the client sent none
    std::string remote_addr;
    std::string request_id;    // nginx $request_id, or generated
    std::vector<std::pair<std::string, std::string>> headers;  // lower-case names, '-' separated
    std::string body;
    // The verified JWT's subject on jwt routes, set by the pipeline before
    // the handler runs; empty elsewhere. Handlers use it, never re-verify.
    std::string subject;

    // Header value by lower-case name, empty when absent.
    std::string_view header(std::string_view lower_name) const noexcept;
};

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    void add_header(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

// Error codes of the contract.
namespace code {
inline constexpr std::string_view validation = "VALIDATION_ERROR";
inline constexpr std::string_view unsupported_media = "UNSUPPORTED_MEDIA_TYPE";
inline constexpr std::string_view too_large = "PAYLOAD_TOO_LARGE";
inline constexpr std::string_view unauthorized = "UNAUTHORIZED";
inline constexpr std::string_view token_expired = "TOKEN_EXPIRED";
inline constexpr std::string_view token_invalid = "TOKEN_INVALID";
inline constexpr std::string_view forbidden = "FORBIDDEN";
inline constexpr std::string_view not_found = "NOT_FOUND";
inline constexpr std::string_view method_not_allowed = "METHOD_NOT_ALLOWED";
inline constexpr std::string_view conflict = "CONFLICT";
inline constexpr std::string_view duplicate_pmc = "DUPLICATE_PMC";
inline constexpr std::string_view rate_limited = "RATE_LIMITED";
inline constexpr std::string_view unavailable = "SERVICE_UNAVAILABLE";
inline constexpr std::string_view internal = "INTERNAL";
}  // namespace code

// {"error":C,"code":C,"message":M,"status":S[,"details":[…]]}; `details` is stolen.
Response error(int status, std::string_view code, std::string_view message, json_t *details = nullptr);
// JSON body from a value (stolen); keys in insertion order.
Response json(int status, json_t *body);
Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
// 503 SERVICE_UNAVAILABLE naming the dependency ("Database", "KMS", …).
Response unavailable(std::string_view what);

std::string_view reason_phrase(int status) noexcept;

}  // namespace pp::http

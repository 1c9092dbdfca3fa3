// SPDX-License-Identifier: MIT
// Request bodies: Content-Type policy (application/json, optional
// charset=utf-8, else 415), strict JSON parsing (an object, no duplicate
// keys, else 400) and field validation that rejects unknown fields at every
// depth and names each problem in `details` — never echoing a value.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/result.h"
#include "http/http.h"

namespace pp::http {

bool is_json_content_type(std::string_view content_type) noexcept;

// The body as a JSON object, or the 415/400 response to send.
struct ParsedBody {
    JsonPtr object;
    std::optional<Response> error;
};
ParsedBody parse_json_body(const Request &req);

// Collects validation problems for one object; nested objects get their own
// Validator with a dotted prefix but share the details array.
class Validator {
public:
    Validator(const json_t *obj, json_t *details, std::string prefix = "");

    // Each getter records a problem (missing / wrong type) and returns a
    // neutral value; check ok() once at the end.
    std::optional<std::string_view> string(const char *name, bool required);
    std::optional<long long> integer(const char *name, bool required);
    std::optional<bool> boolean(const char *name, bool required);
    const json_t *object(const char *name, bool required);
    // Any field not in `allowed` is reported as unknown.
    void only(std::initializer_list<const char *> allowed);
    void problem(const char *name, const char *issue);

    // False once this validator, or any sharing `details` with it, recorded
    // a problem (or `details` is null): never depends on the detail text.
    bool ok() const noexcept { return !failed_ && details_ && json_array_size(details_) == 0; }
    const std::string &prefix() const noexcept { return prefix_; }

private:
    const json_t *get(const char *name, bool required, json_type type, const char *type_name);

    static constexpr size_t kMaxUnknownNameBytes = 64;
    static constexpr size_t kMaxFieldBytes = 256;

    const json_t *obj_;
    json_t *details_;  // borrowed
    std::string prefix_;
    bool failed_ = false;
};

// 400 VALIDATION_ERROR carrying `details` (stolen).
Response validation_error(json_t *details, std::string_view message = "Request body is invalid.");

}  // namespace pp::http

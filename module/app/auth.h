// SPDX-License-Identifier: MIT
// Request authentication: the API key (constant-time, current or previous
// key) and the SVD JWT (signature, times, cnf binding, and the subject's
// not-before kept in MariaDB for privacy deletes). Failures come back as the
// 401 response to send, so every route answers the same way.
#pragma once

#include <optional>
#include <string>

#include "app/context.h"
#include "http/http.h"

namespace pp::app {

bool api_key_valid(const config::Config &cfg, const http::Request &req) noexcept;

struct JwtSubject {
    std::string user_id;
    int64_t iat = 0;
};

struct AuthOutcome {
    std::optional<JwtSubject> subject;   // set when a JWT was required and valid
    std::optional<http::Response> error;
};

AuthOutcome check_jwt(AppContext &ctx, const http::Request &req);

}  // namespace pp::app

// SPDX-License-Identifier: MIT
#include "app/auth.h"

#include "crypto/encoding.h"
#include "crypto/jwt.h"
#include "crypto/secret.h"
#include "store/identities.h"

namespace pp::app {

bool api_key_valid(const config::Config &cfg, const http::Request &req) noexcept
{
    const std::string_view given = req.header("x-api-key");
    if (given.empty() || cfg.api_key.empty())
        return false;
    // Both comparisons always run so timing does not tell which key matched.
    const bool current = crypto::equal_ct(crypto::as_bytes(given), cfg.api_key.bytes());
    const bool previous =
        !cfg.api_key_previous.empty() && crypto::equal_ct(crypto::as_bytes(given), cfg.api_key_previous.bytes());
    return current | previous;
}

AuthOutcome check_jwt(AppContext &ctx, const http::Request &req)
{
    AuthOutcome out;
    const std::string_view authz = req.header("authorization");
    constexpr std::string_view bearer = "Bearer ";
    if (authz.size() <= bearer.size() || authz.substr(0, bearer.size()) != bearer) {
        out.error = http::error(401, http::code::unauthorized, "A bearer token is required.");
        return out;
    }
    if (ctx.cfg.jwt_secret.empty()) {
        out.error = http::error(503, http::code::unavailable, "Token verification is not configured.");
        return out;
    }
    crypto::JwtVerifyOptions opt;
    opt.secret = ctx.cfg.jwt_secret.bytes();
    opt.previous_secret = ctx.cfg.jwt_secret_previous.bytes();
    opt.now = now_sec();
    opt.skew_sec = ctx.cfg.svd_clock_skew_sec;
    opt.issuer = ctx.cfg.jwt_issuer;
    opt.audience = ctx.cfg.jwt_audience;
    auto claims = crypto::jwt_verify_hs256(authz.substr(bearer.size()), opt);
    if (!claims) {
        if (claims.error() == Errc::token_expired)
            out.error = http::error(401, http::code::token_expired, "The token has expired.");
        else
            out.error = http::error(401, http::code::token_invalid, "The token is invalid.");
        return out;
    }
    const json_t *sub = json_object_get(claims->get(), "sub");
    const json_t *iat = json_object_get(claims->get(), "iat");
    if (!json_is_string(sub) || !json_is_integer(iat)) {
        out.error = http::error(401, http::code::token_invalid, "The token is invalid.");
        return out;
    }
    JwtSubject subject{json_string_value(sub), json_integer_value(iat)};

    // A privacy delete revokes every token issued at or before its second.
    store::Db *db = ctx.db();
    if (!db) {
        out.error = http::error(503, http::code::unavailable, "Database unavailable.");
        return out;
    }
    auto not_before = store::subject_not_before(*db, subject.user_id);
    if (!not_before) {
        out.error = http::error(503, http::code::unavailable, "Database unavailable.");
        return out;
    }
    if (*not_before) {
        if (subject.iat <= **not_before) {
            out.error = http::error(401, http::code::token_invalid, "The token has been revoked.");
            return out;
        }
    }
    out.subject = std::move(subject);
    return out;
}

}  // namespace pp::app

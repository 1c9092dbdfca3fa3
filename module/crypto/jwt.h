// SPDX-License-Identifier: MIT
// HS256 JSON Web Tokens (RFC 7519 / RFC 7515 compact form), HS256 only:
// any other "alg", including "none", is rejected (DESIGN.md §3).
//
// Ownership: jwt_sign_hs256 borrows `header` and `payload` (no incref, no
// decref). jwt_verify_hs256 returns a new reference to the payload object
// inside a JsonPtr, which decrefs it; nothing else is kept. Secrets are
// borrowed spans; every secret-derived buffer (the expected MACs) is wiped
// before returning, on every path.
//
// Errors: verification failures are token_invalid or token_expired and say
// nothing else; nothing returned ever contains the token or a secret.
//   jwt_sign_hs256:  invalid_argument  header not an object whose "alg" is
//                                      "HS256", payload not an object, or
//                                      an empty secret;
//                    bad_json          from canonical_json (reals etc.).
//   jwt_verify_hs256: invalid_argument an empty `secret` or negative skew
//                                      (a configuration error, not the
//                                      caller's token);
//                    token_expired     MAC and claims fine but now > exp + skew;
//                    token_invalid     everything else.
//
// Verify order: length (≤ kJwtMaxTokenLen) → three non-empty strict
// base64url segments → header is an object, "alg" exactly "HS256", "typ"
// (if present) exactly "JWT", no "crit", "kid" (if present) a string → MAC
// over "<seg1>.<seg2>" compared in constant time with `secret`, then
// `previous_secret` when non-empty → only then the payload is parsed: an
// object; exp (integer; required when require_exp), nbf, iat integers; iss,
// sub, jti strings; aud a string or an array of strings; exp/nbf with skew;
// iss/aud when configured; "cnf" an object whose "msha256", if present, is a
// string equal to the "jti" claim. Duplicate keys in header or payload are
// rejected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <jansson.h>

#include "common/json.h"
#include "common/result.h"

namespace pp::crypto {

// Far above any token we issue; bounds the work done on unauthenticated input.
inline constexpr size_t kJwtMaxTokenLen = 8192;

struct JwtVerifyOptions {
    std::span<const uint8_t> secret;           // JWT_SECRET bytes
    std::span<const uint8_t> previous_secret;  // empty when not rotating
    int64_t now = 0;                           // unix seconds (injected for testability)
    int64_t skew_sec = 30;
    std::string_view issuer;    // empty = not checked
    std::string_view audience;  // empty = not checked; aud claim may be string or array of strings
    bool require_exp = true;
};

// base64url(compact insertion-order JSON of header) "." base64url(payload)
// "." base64url(HMAC-SHA256(secret, first two parts)).
Result<std::string> jwt_sign_hs256(const json_t *header, const json_t *payload,
                                   std::span<const uint8_t> secret);

// Returns the payload object of a valid token.
Result<JsonPtr> jwt_verify_hs256(std::string_view token, const JwtVerifyOptions &opt);

}  // namespace pp::crypto

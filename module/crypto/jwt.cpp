// SPDX-License-Identifier: MIT
#include "crypto/jwt.h"

#include <array>
#include <limits>

#include "crypto/canonical_json.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/secret.h"

namespace pp::crypto {
namespace {

constexpr std::string_view kAlg = "HS256";
constexpr std::string_view kTyp = "JWT";

std::string_view str_of(const json_t *s) noexcept
{
    return {json_string_value(s), json_string_length(s)};
}

bool is_string_equal(const json_t *v, std::string_view want) noexcept
{
    return json_is_string(v) && str_of(v) == want;
}

// Claims are attacker-chosen integers; saturate instead of overflowing.
int64_t sat_add(int64_t a, int64_t b) noexcept
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
    return r;
}

// Object or nothing; duplicate keys are refused so "alg" cannot mean two things.
JsonPtr parse_object(std::span<const uint8_t> text)
{
    json_error_t err;
    JsonPtr j(json_loadb(reinterpret_cast<const char *>(text.data()), text.size(),
                         JSON_REJECT_DUPLICATES, &err));
    if (!j || !json_is_object(j.get())) return nullptr;
    return j;
}

bool header_ok(const json_t *h)
{
    if (!is_string_equal(json_object_get(h, "alg"), kAlg)) return false;
    if (const json_t *typ = json_object_get(h, "typ"); typ && !is_string_equal(typ, kTyp))
        return false;
    // We implement no extensions, so any "crit" must be refused (RFC 7515 §4.1.11).
    if (json_object_get(h, "crit")) return false;
    if (const json_t *kid = json_object_get(h, "kid"); kid && !json_is_string(kid)) return false;
    return true;
}

// Constant-time check of `sig` against HMAC-SHA256(key, signing_input).
bool mac_matches(std::span<const uint8_t> key, std::string_view signing_input,
                 std::span<const uint8_t> sig) noexcept
{
    Secret<32> mac;
    hmac_sha256(mac.span(), key, as_bytes(signing_input));
    return equal_ct(mac.span(), sig);  // mac is wiped by ~Secret
}

bool optional_int(const json_t *payload, const char *name, const json_t **out)
{
    *out = json_object_get(payload, name);
    return !*out || json_is_integer(*out);
}

bool optional_string(const json_t *payload, const char *name)
{
    const json_t *v = json_object_get(payload, name);
    return !v || json_is_string(v);
}

bool aud_well_formed(const json_t *aud)
{
    if (!aud || json_is_string(aud)) return true;
    if (!json_is_array(aud)) return false;
    size_t i;
    const json_t *item;
    json_array_foreach(aud, i, item) {
        if (!json_is_string(item)) return false;
    }
    return true;
}

bool aud_contains(const json_t *aud, std::string_view want)
{
    if (!aud) return false;
    if (json_is_string(aud)) return str_of(aud) == want;
    size_t i;
    const json_t *item;
    json_array_foreach(aud, i, item) {
        if (str_of(item) == want) return true;
    }
    return false;
}

Result<void> check_claims(const json_t *p, const JwtVerifyOptions &opt)
{
    const json_t *exp, *nbf, *iat;
    if (!optional_int(p, "exp", &exp) || !optional_int(p, "nbf", &nbf) ||
        !optional_int(p, "iat", &iat))
        return Errc::token_invalid;
    if (!optional_string(p, "iss") || !optional_string(p, "sub") || !optional_string(p, "jti"))
        return Errc::token_invalid;
    const json_t *aud = json_object_get(p, "aud");
    if (!aud_well_formed(aud)) return Errc::token_invalid;

    if (!exp && opt.require_exp) return Errc::token_invalid;
    if (exp && opt.now > sat_add(json_integer_value(exp), opt.skew_sec)) return Errc::token_expired;
    if (nbf && sat_add(opt.now, opt.skew_sec) < json_integer_value(nbf)) return Errc::token_invalid;

    if (!opt.issuer.empty() && !is_string_equal(json_object_get(p, "iss"), opt.issuer))
        return Errc::token_invalid;
    if (!opt.audience.empty() && !aud_contains(aud, opt.audience)) return Errc::token_invalid;

    // Binding to the SVD challenge: cnf.msha256 must repeat jti.
    if (const json_t *cnf = json_object_get(p, "cnf")) {
        if (!json_is_object(cnf)) return Errc::token_invalid;
        if (const json_t *m = json_object_get(cnf, "msha256")) {
            const json_t *jti = json_object_get(p, "jti");
            if (!json_is_string(m) || !json_is_string(jti) || str_of(m) != str_of(jti))
                return Errc::token_invalid;
        }
    }
    return {};
}

}  // namespace

Result<std::string> jwt_sign_hs256(const json_t *header, const json_t *payload,
                                   std::span<const uint8_t> secret)
{
    // An empty key gives a MAC anyone can compute.
    if (secret.empty() || !json_is_object(header) || !json_is_object(payload))
        return Errc::invalid_argument;
    // Refuse to mint a token our own verifier would reject.
    if (!header_ok(header)) return Errc::invalid_argument;

    auto h = canonical_json(header, KeyOrder::insertion);
    if (!h) return h.error();
    auto p = canonical_json(payload, KeyOrder::insertion);
    if (!p) return p.error();

    std::string token = base64url_encode(as_bytes(*h));
    token += '.';
    token += base64url_encode(as_bytes(*p));

    Secret<32> mac;
    hmac_sha256(mac.span(), secret, as_bytes(token));
    token += '.';
    token += base64url_encode(mac.span());
    return token;
}

Result<JsonPtr> jwt_verify_hs256(std::string_view token, const JwtVerifyOptions &opt)
{
    if (opt.secret.empty() || opt.skew_sec < 0) return Errc::invalid_argument;
    if (token.empty() || token.size() > kJwtMaxTokenLen) return Errc::token_invalid;

    size_t d1 = token.find('.');
    if (d1 == std::string_view::npos) return Errc::token_invalid;
    size_t d2 = token.find('.', d1 + 1);
    if (d2 == std::string_view::npos) return Errc::token_invalid;
    if (token.find('.', d2 + 1) != std::string_view::npos) return Errc::token_invalid;

    std::string_view seg_h = token.substr(0, d1);
    std::string_view seg_p = token.substr(d1 + 1, d2 - d1 - 1);
    std::string_view seg_s = token.substr(d2 + 1);
    if (seg_h.empty() || seg_p.empty() || seg_s.empty()) return Errc::token_invalid;

    auto hdr_bytes = base64url_decode(seg_h);
    auto pay_bytes = base64url_decode(seg_p);
    auto sig = base64url_decode(seg_s);
    if (!hdr_bytes || !pay_bytes || !sig) return Errc::token_invalid;

    JsonPtr header = parse_object(*hdr_bytes);
    if (!header || !header_ok(header.get())) return Errc::token_invalid;

    std::string_view signing_input = token.substr(0, d2);
    bool mac_ok = mac_matches(opt.secret, signing_input, *sig);
    if (!mac_ok && !opt.previous_secret.empty())
        mac_ok = mac_matches(opt.previous_secret, signing_input, *sig);
    if (!mac_ok) return Errc::token_invalid;

    // Authenticated from here on; still untrusted for shape and time.
    JsonPtr payload = parse_object(*pay_bytes);
    if (!payload) return Errc::token_invalid;
    if (auto r = check_claims(payload.get(), opt); !r) return r.error();
    return payload;
}

}  // namespace pp::crypto

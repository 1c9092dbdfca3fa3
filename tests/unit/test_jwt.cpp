// SPDX-License-Identifier: MIT
// HS256 JWT: RFC 7515 A.1, every rejection rule of DESIGN.md §3 / jwt.h, and
// Wycheproof HMAC-SHA256 vectors for the MAC underneath.
#include <array>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "common/json.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/jwt.h"

// Last: cmocka defines macros (fail, expect_*) that clash with standard headers.
#include "vectors.h"

using pp::Errc;
using pp::JsonPtr;
using pp::crypto::as_bytes;
using pp::crypto::base64url_encode;
using pp::crypto::JwtVerifyOptions;

namespace {

constexpr int64_t kNow = 1700000000;
constexpr std::string_view kSecret = "secret-key-for-unit-tests-32bytes!";
constexpr std::string_view kOldSecret = "previous-secret-for-rotation-32by";
constexpr std::string_view kOtherSecret = "an-unrelated-secret-of-32-bytes!!";
constexpr const char *kHs256Header = R"({"alg":"HS256","typ":"JWT"})";

#define ASSERT_ERR(expr, code) \
    assert_int_equal(static_cast<int>((expr).error()), static_cast<int>(code))

std::string b64(std::string_view s) { return base64url_encode(as_bytes(s)); }

// Builds a token from raw JSON text so tests can craft headers the signer refuses.
std::string make_token(std::string_view header, std::string_view payload,
                       std::span<const uint8_t> key)
{
    std::string t = b64(header) + "." + b64(payload);
    std::array<uint8_t, 32> mac;
    pp::crypto::hmac_sha256(mac, key, as_bytes(t));
    return t + "." + base64url_encode(mac);
}

std::string make_token(std::string_view header, std::string_view payload)
{
    return make_token(header, payload, as_bytes(kSecret));
}

JwtVerifyOptions opts(int64_t now = kNow)
{
    JwtVerifyOptions o;
    o.secret = as_bytes(kSecret);
    o.now = now;
    return o;
}

std::string payload_exp(int64_t exp)
{
    char buf[96];
    std::snprintf(buf, sizeof buf, R"({"sub":"alice","exp":%)" PRId64 "}", exp);
    return buf;
}

void expect_ok(const std::string &token, const JwtVerifyOptions &o)
{
    auto r = pp::crypto::jwt_verify_hs256(token, o);
    if (!r) fail_msg("expected a valid token, got %s", std::string(pp::errc_name(r.error())).c_str());
}

void expect_err(const std::string &token, const JwtVerifyOptions &o, Errc code)
{
    auto r = pp::crypto::jwt_verify_hs256(token, o);
    ASSERT_ERR(r, code);
}

pp::Bytes rfc_key()
{
    auto k = pp::crypto::base64url_decode(
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
    assert_true(k.ok());
    return std::move(k).value();
}

constexpr const char *kRfcToken =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

void rfc7515_a1(void **)
{
    pp::Bytes key = rfc_key();
    assert_int_equal(key.size(), 64);
    JwtVerifyOptions o = opts(1300819370);
    o.secret = key;
    auto r = pp::crypto::jwt_verify_hs256(kRfcToken, o);
    assert_true(r.ok());
    const json_t *p = r->get();
    assert_string_equal(json_string_value(json_object_get(p, "iss")), "joe");
    assert_int_equal(json_integer_value(json_object_get(p, "exp")), 1300819380);
    assert_true(json_is_true(json_object_get(p, "http://example.com/is_root")));

    o.now = 1300819380 + 30;  // within skew
    expect_ok(kRfcToken, o);
    o.now = 1300819380 + 31;
    expect_err(kRfcToken, o, Errc::token_expired);
    o.now = 2000000000;
    expect_err(kRfcToken, o, Errc::token_expired);

    o = opts(1300819370);  // the test secret, not the JWK
    expect_err(kRfcToken, o, Errc::token_invalid);
}

void known_answer_matches_node(void **)
{
    // Produced by node's crypto.createHmac over JSON.stringify output.
    const char *want =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMDkwMH0"
        ".H4YE0Puz_Dshxvq3SaUdGUVQ0so7q-71pud8yn1BvZw";
    JsonPtr h(json_pack("{s:s,s:s}", "alg", "HS256", "typ", "JWT"));
    JsonPtr p(json_pack("{s:s,s:I}", "sub", "alice", "exp", (json_int_t)1700000900));
    auto t = pp::crypto::jwt_sign_hs256(h.get(), p.get(), as_bytes(kSecret));
    assert_true(t.ok());
    assert_string_equal(t->c_str(), want);
    expect_ok(want, opts());
}

void wrong_alg_rejected(void **)
{
    std::string p = payload_exp(kNow + 600);
    const char *headers[] = {
        R"({"alg":"none","typ":"JWT"})",  R"({"alg":"HS512","typ":"JWT"})",
        R"({"alg":"hs256","typ":"JWT"})", R"({"alg":"HS256 ","typ":"JWT"})",
        R"({"typ":"JWT"})",               R"({"alg":256,"typ":"JWT"})",
        R"({"alg":["HS256"]})",           R"({"alg":null})",
        R"({"alg":"RS256"})",             R"({"alg":"HS256","alg":"none"})",
        R"({"alg":"HS256","typ":"jwt"})", R"({"alg":"HS256","typ":"JWS"})",
        R"({"alg":"HS256","typ":1})",     R"({"alg":"HS256","crit":["exp"]})",
        R"({"alg":"HS256","kid":7})",     R"(["alg","HS256"])",
        R"({"alg":"HS256")",              "",
    };
    for (const char *h : headers) {
        // Correct MAC under the real secret: only the header is at fault.
        expect_err(make_token(h, p), opts(), Errc::token_invalid);
    }
    // Classic "none" token with an empty signature.
    expect_err(b64(R"({"alg":"none"})") + "." + b64(p) + ".", opts(), Errc::token_invalid);

    expect_ok(make_token(R"({"alg":"HS256"})", p), opts());  // typ is optional
    expect_ok(make_token(R"({"kid":"svd-1","typ":"JWT","alg":"HS256"})", p), opts());
}

void mac_mismatch_rejected(void **)
{
    std::string good = make_token(kHs256Header, payload_exp(kNow + 600));
    expect_ok(good, opts());

    // Payload swapped for one granting more; signature kept.
    size_t d1 = good.find('.'), d2 = good.rfind('.');
    std::string forged = good.substr(0, d1) + "." + b64(R"({"sub":"admin","exp":1700000600})") +
                         good.substr(d2);
    expect_err(forged, opts(), Errc::token_invalid);

    // One signature character changed (still canonical base64url).
    std::string flipped = good;
    flipped[d2 + 1] = flipped[d2 + 1] == 'A' ? 'B' : 'A';
    expect_err(flipped, opts(), Errc::token_invalid);

    // Truncated MAC (16 bytes) must not be accepted as a prefix match.
    std::string shortmac = good.substr(0, d2 + 1) + good.substr(d2 + 1, 22);
    expect_err(shortmac, opts(), Errc::token_invalid);

    // Wrong secret.
    expect_err(make_token(kHs256Header, payload_exp(kNow + 600), as_bytes(kOtherSecret)), opts(),
               Errc::token_invalid);
}

void bad_encoding_rejected(void **)
{
    JwtVerifyOptions o = opts(1300819370);
    pp::Bytes key = rfc_key();
    o.secret = key;
    std::string t = kRfcToken;
    size_t d1 = t.find('.'), d2 = t.rfind('.');
    expect_ok(t, o);

    std::string plus = t;
    plus[d2 + 5] = '+';  // standard-alphabet character
    expect_err(plus, o, Errc::token_invalid);
    std::string slash = t;
    slash[3] = '/';
    expect_err(slash, o, Errc::token_invalid);
    // Padding on the 42-char header segment and on the signature.
    expect_err(t.substr(0, d1) + "==" + t.substr(d1), o, Errc::token_invalid);
    expect_err(t + "=", o, Errc::token_invalid);
    // Last signature char 'k' -> 'l': same byte values, non-zero trailing bits.
    std::string noncanon = t;
    assert_int_equal(noncanon.back(), 'k');
    noncanon.back() = 'l';
    expect_err(noncanon, o, Errc::token_invalid);
    // Whitespace, and one character too many in the signature.
    expect_err(t + " ", o, Errc::token_invalid);
    expect_err(" " + t, o, Errc::token_invalid);
    expect_err(t + "A", o, Errc::token_invalid);
}

void segment_count_rejected(void **)
{
    std::string t = make_token(kHs256Header, payload_exp(kNow + 600));
    size_t d1 = t.find('.'), d2 = t.rfind('.');
    std::string h = t.substr(0, d1), p = t.substr(d1 + 1, d2 - d1 - 1), s = t.substr(d2 + 1);
    expect_ok(h + "." + p + "." + s, opts());
    expect_err(h + "." + p, opts(), Errc::token_invalid);
    expect_err(h + "." + p + "." + s + "." + s, opts(), Errc::token_invalid);
    expect_err(h + "." + p + "." + s + ".", opts(), Errc::token_invalid);
    expect_err("." + p + "." + s, opts(), Errc::token_invalid);
    expect_err(h + ".." + s, opts(), Errc::token_invalid);
    expect_err(h + "." + p + ".", opts(), Errc::token_invalid);
    expect_err("..", opts(), Errc::token_invalid);
    expect_err("", opts(), Errc::token_invalid);
    expect_err(h + p + s, opts(), Errc::token_invalid);
}

void length_limit(void **)
{
    std::string pad(9000, 'x');
    std::string big = make_token(kHs256Header, R"({"exp":1700000600,"pad":")" + pad + "\"}");
    assert_true(big.size() > pp::crypto::kJwtMaxTokenLen);
    expect_err(big, opts(), Errc::token_invalid);

    std::string fits = make_token(kHs256Header, R"({"exp":1700000600,"pad":")" + pad.substr(0, 5000) + "\"}");
    assert_true(fits.size() <= pp::crypto::kJwtMaxTokenLen);
    expect_ok(fits, opts());
}

void payload_shape(void **)
{
    // MAC is valid; the payload itself is not a JSON object.
    expect_err(make_token(kHs256Header, "[1,2]"), opts(), Errc::token_invalid);
    expect_err(make_token(kHs256Header, R"("x")"), opts(), Errc::token_invalid);
    expect_err(make_token(kHs256Header, "{\"exp\":1700000600"), opts(), Errc::token_invalid);
    expect_err(make_token(kHs256Header, "not json"), opts(), Errc::token_invalid);
    expect_err(make_token(kHs256Header, R"({"exp":1700000600,"exp":1})"), opts(), Errc::token_invalid);
}

void exp_and_nbf(void **)
{
    expect_ok(make_token(kHs256Header, payload_exp(kNow)), opts());
    expect_ok(make_token(kHs256Header, payload_exp(kNow - 30)), opts());  // skew boundary
    expect_err(make_token(kHs256Header, payload_exp(kNow - 31)), opts(), Errc::token_expired);
    expect_err(make_token(kHs256Header, payload_exp(kNow - 3600)), opts(), Errc::token_expired);

    JwtVerifyOptions noskew = opts();
    noskew.skew_sec = 0;
    expect_err(make_token(kHs256Header, payload_exp(kNow - 1)), noskew, Errc::token_expired);
    noskew.skew_sec = -1;
    ASSERT_ERR(pp::crypto::jwt_verify_hs256(make_token(kHs256Header, payload_exp(kNow)), noskew),
               Errc::invalid_argument);

    // exp missing, or of the wrong type.
    std::string noexp = make_token(kHs256Header, R"({"sub":"alice"})");
    expect_err(noexp, opts(), Errc::token_invalid);
    JwtVerifyOptions optional = opts();
    optional.require_exp = false;
    expect_ok(noexp, optional);
    expect_err(make_token(kHs256Header, R"({"exp":"1700000600"})"), opts(), Errc::token_invalid);
    expect_err(make_token(kHs256Header, R"({"exp":1700000600.5})"), opts(), Errc::token_invalid);
    expect_err(make_token(kHs256Header, R"({"exp":null})"), optional, Errc::token_invalid);

    // Extreme values must not overflow.
    expect_ok(make_token(kHs256Header, R"({"exp":9223372036854775807})"), opts());
    expect_err(make_token(kHs256Header, R"({"exp":-9223372036854775807})"), opts(), Errc::token_expired);

    char buf[128];
    auto with_nbf = [&](int64_t nbf) {
        std::snprintf(buf, sizeof buf, R"({"exp":%)" PRId64 R"(,"nbf":%)" PRId64 "}", kNow + 600, nbf);
        return make_token(kHs256Header, buf);
    };
    expect_ok(with_nbf(kNow - 30), opts());
    expect_ok(with_nbf(kNow), opts());
    expect_ok(with_nbf(kNow + 30), opts());  // within skew
    expect_err(with_nbf(kNow + 31), opts(), Errc::token_invalid);
    expect_err(with_nbf(kNow + 3600), opts(), Errc::token_invalid);
    expect_ok(make_token(kHs256Header, R"({"exp":1700000600,"nbf":-9223372036854775807})"), opts());
    expect_err(make_token(kHs256Header, R"({"exp":1700000600,"nbf":"0"})"), opts(), Errc::token_invalid);

    expect_ok(make_token(kHs256Header, R"({"exp":1700000600,"iat":1700000000})"), opts());
    expect_err(make_token(kHs256Header, R"({"exp":1700000600,"iat":"1700000000"})"), opts(),
               Errc::token_invalid);
    expect_err(make_token(kHs256Header, R"({"exp":1700000600,"iat":1.7e9})"), opts(), Errc::token_invalid);
}

void issuer_and_audience(void **)
{
    JwtVerifyOptions o = opts();
    o.issuer = "https://patchproof.example";
    o.audience = "patchproof-api";

    auto tok = [](const char *claims) {
        return make_token(kHs256Header, std::string(R"({"exp":1700000600,)") + claims + "}");
    };
    expect_ok(tok(R"("iss":"https://patchproof.example","aud":"patchproof-api")"), o);
    expect_ok(tok(R"("iss":"https://patchproof.example","aud":["other","patchproof-api"])"), o);
    expect_err(tok(R"("iss":"https://evil.example","aud":"patchproof-api")"), o, Errc::token_invalid);
    expect_err(tok(R"("iss":"https://patchproof.example/","aud":"patchproof-api")"), o, Errc::token_invalid);
    expect_err(tok(R"("aud":"patchproof-api")"), o, Errc::token_invalid);  // iss missing
    expect_err(tok(R"("iss":"https://patchproof.example","aud":"other")"), o, Errc::token_invalid);
    expect_err(tok(R"("iss":"https://patchproof.example","aud":["other"])"), o, Errc::token_invalid);
    expect_err(tok(R"("iss":"https://patchproof.example","aud":[])"), o, Errc::token_invalid);
    expect_err(tok(R"("iss":"https://patchproof.example")"), o, Errc::token_invalid);  // aud missing
    expect_err(tok(R"("iss":"https://patchproof.example","aud":["patchproof-api",1])"), o,
               Errc::token_invalid);
    expect_err(tok(R"("iss":"https://patchproof.example","aud":"PATCHPROOF-API")"), o, Errc::token_invalid);

    // Not configured: not checked, but the claims must still have the right type.
    JwtVerifyOptions plain = opts();
    expect_ok(tok(R"("iss":"anyone","aud":["x","y"])"), plain);
    expect_err(tok(R"("iss":42)"), plain, Errc::token_invalid);
    expect_err(tok(R"("aud":{"a":1})"), plain, Errc::token_invalid);
    expect_err(tok(R"("sub":1)"), plain, Errc::token_invalid);
    expect_err(tok(R"("jti":true)"), plain, Errc::token_invalid);
}

void cnf_binding(void **)
{
    const char *jti = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    auto tok = [&](const char *cnf_and_rest) {
        std::string p = std::string(R"({"exp":1700000600,"jti":")") + jti + "\"" + cnf_and_rest + "}";
        return make_token(kHs256Header, p);
    };
    expect_ok(tok(std::string(R"(,"cnf":{"msha256":")").append(jti).append(R"(","svd_proof":"ab"})").c_str()),
              opts());
    expect_ok(tok(""), opts());                                  // no cnf
    expect_ok(tok(R"(,"cnf":{"svd_proof":"ab"})"), opts());      // cnf without msha256
    expect_err(tok(R"(,"cnf":{"msha256":"00"})"), opts(), Errc::token_invalid);
    std::string upper(jti);
    for (char &c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    expect_err(tok((std::string(R"(,"cnf":{"msha256":")") + upper + "\"}").c_str()), opts(),
               Errc::token_invalid);
    expect_err(tok(R"(,"cnf":{"msha256":1})"), opts(), Errc::token_invalid);
    expect_err(tok(R"(,"cnf":"x")"), opts(), Errc::token_invalid);
    expect_err(tok(R"(,"cnf":[])"), opts(), Errc::token_invalid);
    // msha256 without a jti to match.
    expect_err(make_token(kHs256Header, R"({"exp":1700000600,"cnf":{"msha256":"ab"}})"), opts(),
               Errc::token_invalid);
}

void secret_rotation(void **)
{
    std::string p = payload_exp(kNow + 600);
    std::string old_tok = make_token(kHs256Header, p, as_bytes(kOldSecret));
    std::string new_tok = make_token(kHs256Header, p, as_bytes(kSecret));
    std::string other_tok = make_token(kHs256Header, p, as_bytes(kOtherSecret));

    JwtVerifyOptions o = opts();
    expect_err(old_tok, o, Errc::token_invalid);  // not rotating
    o.previous_secret = as_bytes(kOldSecret);
    expect_ok(old_tok, o);
    expect_ok(new_tok, o);
    expect_err(other_tok, o, Errc::token_invalid);
}

void empty_secret(void **)
{
    std::string p = payload_exp(kNow + 600);
    // Zero-length but non-null: libsodium declares the key pointer nonnull.
    static const uint8_t no_key[1] = {0};
    std::string empty_tok = make_token(kHs256Header, p, std::span<const uint8_t>(no_key, 0));
    JwtVerifyOptions o = opts();
    expect_err(empty_tok, o, Errc::token_invalid);
    o.previous_secret = as_bytes(kOldSecret);
    expect_err(empty_tok, o, Errc::token_invalid);

    // Empty keys are refused outright on both sides.
    JwtVerifyOptions none = opts();
    none.secret = {};
    ASSERT_ERR(pp::crypto::jwt_verify_hs256(empty_tok, none), Errc::invalid_argument);
    JsonPtr h(json_pack("{s:s}", "alg", "HS256"));
    JsonPtr pl(json_pack("{s:I}", "exp", (json_int_t)(kNow + 600)));
    ASSERT_ERR(pp::crypto::jwt_sign_hs256(h.get(), pl.get(), {}), Errc::invalid_argument);
}

void sign_verify_round_trip(void **)
{
    const char *jti = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    JsonPtr h(json_pack("{s:s,s:s,s:s}", "alg", "HS256", "typ", "JWT", "kid", "svd-0011223344556677"));
    JsonPtr p(json_pack("{s:s,s:s,s:{s:s,s:s},s:I,s:I,s:I,s:s,s:s}", "sub", "user_42", "jti", jti, "cnf",
                        "msha256", jti, "svd_proof", "00ff", "iat", (json_int_t)kNow, "nbf",
                        (json_int_t)(kNow - 30), "exp", (json_int_t)(kNow + 900), "iss", "pp", "aud",
                        "pp-api"));
    assert_non_null(h.get());
    assert_non_null(p.get());
    auto t = pp::crypto::jwt_sign_hs256(h.get(), p.get(), as_bytes(kSecret));
    assert_true(t.ok());

    // Header segment is the compact insertion-order JSON.
    auto hb = pp::crypto::base64url_decode(std::string_view(*t).substr(0, t->find('.')));
    assert_true(hb.ok());
    assert_string_equal(std::string(hb->begin(), hb->end()).c_str(),
                        R"({"alg":"HS256","typ":"JWT","kid":"svd-0011223344556677"})");

    JwtVerifyOptions o = opts();
    o.issuer = "pp";
    o.audience = "pp-api";
    auto r = pp::crypto::jwt_verify_hs256(*t, o);
    assert_true(r.ok());
    assert_true(json_equal(r->get(), p.get()));
    assert_string_equal(json_string_value(json_object_get(r->get(), "sub")), "user_42");

    o.now = kNow + 931;
    expect_err(*t, o, Errc::token_expired);

    // The signer refuses what the verifier would reject.
    JsonPtr bad_h(json_pack("{s:s}", "alg", "HS512"));
    ASSERT_ERR(pp::crypto::jwt_sign_hs256(bad_h.get(), p.get(), as_bytes(kSecret)), Errc::invalid_argument);
    JsonPtr arr(json_array());
    ASSERT_ERR(pp::crypto::jwt_sign_hs256(h.get(), arr.get(), as_bytes(kSecret)), Errc::invalid_argument);
    ASSERT_ERR(pp::crypto::jwt_sign_hs256(nullptr, p.get(), as_bytes(kSecret)), Errc::invalid_argument);
    JsonPtr real_p(json_pack("{s:f}", "exp", 1.5));
    ASSERT_ERR(pp::crypto::jwt_sign_hs256(h.get(), real_p.get(), as_bytes(kSecret)), Errc::bad_json);
}

void hmac_sha256_wycheproof(void **)
{
    JsonPtr root(pp::test::load_vectors("wycheproof/hmac_sha256_test.json"));
    size_t rows = 0, valid = 0, invalid = 0;
    size_t i;
    json_t *group;
    json_array_foreach(json_object_get(root.get(), "testGroups"), i, group) {
        json_int_t tag_bits = json_integer_value(json_object_get(group, "tagSize"));
        assert_true(tag_bits > 0 && tag_bits <= 256 && tag_bits % 8 == 0);
        size_t tag_len = static_cast<size_t>(tag_bits / 8);
        size_t j;
        json_t *tc;
        json_array_foreach(json_object_get(group, "tests"), j, tc) {
            pp::Bytes key = pp::test::unhex(json_string_value(json_object_get(tc, "key")));
            pp::Bytes msg = pp::test::unhex(json_string_value(json_object_get(tc, "msg")));
            pp::Bytes tag = pp::test::unhex(json_string_value(json_object_get(tc, "tag")));
            const char *result = json_string_value(json_object_get(tc, "result"));
            assert_non_null(result);

            std::array<uint8_t, 32> mac;
            pp::crypto::hmac_sha256(mac, key, msg);
            bool same = tag.size() == tag_len &&
                        pp::crypto::equal_ct(std::span<const uint8_t>(mac.data(), tag_len), tag);
            if (std::strcmp(result, "valid") == 0) {
                if (!same) fail_msg("tcId %d: MAC differs", (int)json_integer_value(json_object_get(tc, "tcId")));
                ++valid;
            } else {
                assert_string_equal(result, "invalid");
                if (same) fail_msg("tcId %d: invalid tag accepted", (int)json_integer_value(json_object_get(tc, "tcId")));
                ++invalid;
            }
            ++rows;
        }
    }
    print_message("hmac_sha256_wycheproof: %zu rows (%zu valid, %zu invalid)\n", rows, valid, invalid);
    assert_int_equal(rows, json_integer_value(json_object_get(root.get(), "numberOfTests")));
    assert_int_equal(rows, 174);
}

}  // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc7515_a1),
        cmocka_unit_test(known_answer_matches_node),
        cmocka_unit_test(wrong_alg_rejected),
        cmocka_unit_test(mac_mismatch_rejected),
        cmocka_unit_test(bad_encoding_rejected),
        cmocka_unit_test(segment_count_rejected),
        cmocka_unit_test(length_limit),
        cmocka_unit_test(payload_shape),
        cmocka_unit_test(exp_and_nbf),
        cmocka_unit_test(issuer_and_audience),
        cmocka_unit_test(cnf_binding),
        cmocka_unit_test(secret_rotation),
        cmocka_unit_test(empty_secret),
        cmocka_unit_test(sign_verify_round_trip),
        cmocka_unit_test(hmac_sha256_wycheproof),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

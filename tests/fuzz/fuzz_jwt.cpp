// SPDX-License-Identifier: MIT
// HS256 JWT verification (crypto/jwt.h) of attacker-chosen tokens. The
// first input byte picks options (issuer/audience checks, rotation secret);
// the rest is the token. An accepted token must carry a MAC made with one of
// our secrets over its first two segments, and its payload is an object.
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/jwt.h"
#include "fuzz_common.h"

namespace {
constexpr std::string_view kSecret = "fuzz-jwt-secret-0123456789abcdef0123456789";
constexpr std::string_view kPrevious = "fuzz-jwt-previous-0123456789abcdef01234567";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace pp::crypto;
    if (size == 0)
        return 0;
    const uint8_t flags = data[0];
    const std::string_view token(reinterpret_cast<const char *>(data + 1), size - 1);
    JwtVerifyOptions opt;
    opt.secret = as_bytes(kSecret);
    if (flags & 1)
        opt.previous_secret = as_bytes(kPrevious);
    opt.now = 1700000000;
    opt.skew_sec = (flags & 2) ? 0 : 30;
    if (flags & 4)
        opt.issuer = "patchproof";
    if (flags & 8)
        opt.audience = "patchproof-api";
    opt.require_exp = !(flags & 16);
    auto claims = jwt_verify_hs256(token, opt);
    if (!claims)
        return 0;
    FUZZ_CHECK(json_is_object(claims->get()), "payload is not an object");
    const size_t dot = token.rfind('.');
    FUZZ_CHECK(dot != std::string_view::npos, "accepted a token without segments");
    auto mac = base64url_decode(token.substr(dot + 1));
    FUZZ_CHECK(mac && mac->size() == 32, "accepted a MAC of the wrong size");
    bool matched = false;
    for (std::string_view key : {kSecret, kPrevious}) {
        if (key == kPrevious && !(flags & 1))
            continue;
        std::array<uint8_t, 32> expect;
        hmac_sha256(expect, as_bytes(key), as_bytes(token.substr(0, dot)));
        matched |= std::memcmp(expect.data(), mac->data(), 32) == 0;
    }
    FUZZ_CHECK(matched, "accepted a token whose MAC is not ours");
    return 0;
}

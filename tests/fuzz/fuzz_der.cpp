// SPDX-License-Identifier: MIT
// Strict DER signatures and public keys (crypto/secp256k1.h). A signature
// the parser accepts must be the one DER encoding of its (r, s), or carry an
// r or s >= n (libsecp256k1 reads it as 0: never verifies); anything else
// would be a malleable form we let through. Low-S parsing accepts a
// subset of the high-S parser. A parsed key serialises back to its input.
#include <secp256k1.h>

#include "crypto/hash.h"
#include "crypto/secp256k1.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace pp::crypto;
    static const bool init = secp_init().ok();
    FUZZ_CHECK(init, "secp_init");
    const std::span<const uint8_t> in(data, size);

    const bool strict = check_strict_der(in).ok();
    auto any_s = parse_signature_allow_high_s(in);
    auto low_s = parse_signature(in);
    FUZZ_CHECK(!any_s || strict, "parsed a signature that is not strict DER");
    FUZZ_CHECK(!low_s || any_s, "low-S parser accepted what the plain one refused");
    if (any_s) {
        uint8_t out[80];
        size_t len = sizeof out;
        FUZZ_CHECK(secp256k1_ecdsa_signature_serialize_der(secp_ctx(), out, &len, &any_s->sig) == 1, "serialize");
        if (len != size || std::memcmp(out, data, size) != 0) {
            // libsecp256k1 reads an r or s >= n as 0: such a signature never
            // verifies, so the other encoding cannot be a second valid form.
            uint8_t rs[64];
            secp256k1_ecdsa_signature_serialize_compact(secp_ctx(), rs, &any_s->sig);
            static const uint8_t zero[32] = {};
            FUZZ_CHECK(std::memcmp(rs, zero, 32) == 0 || std::memcmp(rs + 32, zero, 32) == 0,
                       "accepted DER is not the canonical encoding of its (r, s)");
        }
    }

    // Verification on arbitrary bytes: the first 33 bytes as a key.
    if (size >= 33) {
        if (auto pk = parse_pubkey(in.first(33))) {
            const PubKey33 back = serialize_pubkey(*pk);
            FUZZ_CHECK(std::memcmp(back.data(), data, 33) == 0, "compressed key round trip");
            const Hash256 digest = sha256(in);
            (void)ecdsa_verify_der(in.subspan(33), digest, *pk);
        }
    }
    (void)parse_pubkey_any(in);
    return 0;
}

// SPDX-License-Identifier: MIT
// Hash primitives: SHA-256 and HMAC-SHA256 (libsodium), RIPEMD-160 (nettle).
// Outputs are fixed-size arrays; inputs may be empty. HMAC keys of any
// length are accepted (RFC 2104). Intermediate state is wiped.
#pragma once

#include <array>
#include <span>
#include <string_view>

#include "common/result.h"
#include "crypto/secret.h"

namespace pp::crypto {

using Hash256 = std::array<uint8_t, 32>;
using Hash160 = std::array<uint8_t, 20>;

Hash256 sha256(std::span<const uint8_t> data) noexcept;
Hash256 sha256d(std::span<const uint8_t> data) noexcept;  // SHA256(SHA256(x))
Hash160 ripemd160(std::span<const uint8_t> data) noexcept;
Hash160 hash160(std::span<const uint8_t> data) noexcept;  // RIPEMD160(SHA256(x))

void hmac_sha256(std::span<uint8_t, 32> out, std::span<const uint8_t> key,
                 std::span<const uint8_t> msg) noexcept;

// DESIGN.md §3: HK(key, ikm, label) = HMAC(key=HMAC(key=key, msg=ikm), msg=label).
void hk(std::span<uint8_t, 32> out, std::span<const uint8_t> key, std::span<const uint8_t> ikm,
        std::string_view label) noexcept;

// Incremental SHA-256 for multi-part messages.
class Sha256 {
public:
    Sha256() noexcept;
    ~Sha256();
    Sha256(const Sha256 &) = delete;
    Sha256 &operator=(const Sha256 &) = delete;
    Sha256 &update(std::span<const uint8_t> data) noexcept;
    Hash256 finish() noexcept;

private:
    crypto_hash_sha256_state st_;
};

}  // namespace pp::crypto

// SPDX-License-Identifier: MIT
#include "crypto/hash.h"

#include <nettle/ripemd160.h>
#include <sodium.h>

namespace pp::crypto {

Hash256 sha256(std::span<const uint8_t> data) noexcept
{
    Hash256 out;
    crypto_hash_sha256(out.data(), data.data(), data.size());
    return out;
}

Hash256 sha256d(std::span<const uint8_t> data) noexcept
{
    Hash256 once = sha256(data);
    return sha256(once);
}

Hash160 ripemd160(std::span<const uint8_t> data) noexcept
{
    ripemd160_ctx ctx;
    ripemd160_init(&ctx);
    ripemd160_update(&ctx, data.size(), data.data());
    Hash160 out;
    ripemd160_digest(&ctx, out.size(), out.data());
    return out;
}

Hash160 hash160(std::span<const uint8_t> data) noexcept
{
    Hash256 h = sha256(data);
    return ripemd160(h);
}

void hmac_sha256(std::span<uint8_t, 32> out, std::span<const uint8_t> key,
                 std::span<const uint8_t> msg) noexcept
{
    crypto_auth_hmacsha256_state st;
    // libsodium declares the key pointer nonnull even for a zero-length key.
    static const uint8_t empty_key = 0;
    crypto_auth_hmacsha256_init(&st, key.empty() ? &empty_key : key.data(), key.size());
    crypto_auth_hmacsha256_update(&st, msg.data(), msg.size());
    crypto_auth_hmacsha256_final(&st, out.data());
    sodium_memzero(&st, sizeof st);
}

void hk(std::span<uint8_t, 32> out, std::span<const uint8_t> key, std::span<const uint8_t> ikm,
        std::string_view label) noexcept
{
    Secret<32> inner;
    hmac_sha256(inner.span(), key, ikm);
    hmac_sha256(out, inner.span(),
                std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(label.data()), label.size()));
}

Sha256::Sha256() noexcept { crypto_hash_sha256_init(&st_); }
Sha256::~Sha256() { sodium_memzero(&st_, sizeof st_); }

Sha256 &Sha256::update(std::span<const uint8_t> data) noexcept
{
    crypto_hash_sha256_update(&st_, data.data(), data.size());
    return *this;
}

Hash256 Sha256::finish() noexcept
{
    Hash256 out;
    crypto_hash_sha256_final(&st_, out.data());
    return out;
}

}  // namespace pp::crypto

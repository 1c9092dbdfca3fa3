// SPDX-License-Identifier: MIT
// SVD (passwordless login) maths, DESIGN.md §3:
//   h    = SHA256(M) read as a big-endian scalar
//   V2C  = PMC + h·G                       (verification key for the login)
//   p2s  = (PMS + h) mod n                 (server side, inside the KMS)
//   x    = x-coordinate(p2s·V2C)
//   S    = HK(SHA256(PMSpub33 ‖ PMC33 ‖ M), x, "SVD-Session")
//   svd_proof = HK(SHA256(userId ‖ jti32), S, "JWT-Token")
// The client signs SHA256(M) with (pmcPriv + h) mod n. Every function fails
// with bad_key where the maths would hit zero or infinity (h ≥ n, sum ≡ 0).
// Secrets are returned as Secret<32> and wiped by their destructors.
#pragma once

#include <span>
#include <string_view>

#include "crypto/secp256k1.h"

namespace pp::crypto {

// M is 24 bytes: 8-byte big-endian unix seconds ‖ 16 random bytes.
constexpr size_t kSvdMessageBytes = 24;

Result<PublicKey> svd_v2c(const PublicKey &pmc, const Hash256 &h) noexcept;
// (k + h) mod n: the client's signing key, or the KMS's p2s.
Result<Secret<32>> svd_tweak_secret(const Secret<32> &k, const Hash256 &h) noexcept;

// Server (KMS) side: S from the master secret PMS and the user's PMC.
// pms_pub33 is PMS·G, passed in because the KMS computes it once per key.
Result<Secret<32>> svd_shared_secret_server(const Secret<32> &pms, std::span<const uint8_t, 33> pms_pub33,
                                            const PublicKey &pmc, std::span<const uint8_t> m) noexcept;
// The same when the caller already holds V2C and h (saves one point multiplication).
Result<Secret<32>> svd_shared_secret_with_v2c(const Secret<32> &pms, std::span<const uint8_t, 33> pms_pub33,
                                              std::span<const uint8_t, 33> pmc33, const PublicKey &v2c,
                                              const Hash256 &h, std::span<const uint8_t> m) noexcept;
// Client side of the same ECDH: x from pmcPriv and PMSpub (for tests and tools).
Result<Secret<32>> svd_ecdh_x_client(const Secret<32> &pmc_priv, const PublicKey &pms_pub,
                                     const Hash256 &h) noexcept;
// The final derivation of S from x, shared by both sides.
Secret<32> svd_session_key(std::span<const uint8_t, 33> pms_pub33, std::span<const uint8_t, 33> pmc33,
                           std::span<const uint8_t> m, const Secret<32> &x) noexcept;

// svd_proof bound into the JWT's cnf claim.
Hash256 svd_proof(std::string_view user_id, std::span<const uint8_t, 32> jti, const Secret<32> &s) noexcept;

}  // namespace pp::crypto

// SPDX-License-Identifier: MIT
// secp256k1 through libsecp256k1: one process-wide context, created and
// randomized once by init() before any worker forks, then used read-only.
//
// API policy: public keys are 33-byte compressed points (02/03); signatures
// are strict DER (BIP66 rules) and must be low-S. A high-S signature is
// rejected with Errc::high_s, never silently normalized. The 65-byte parser
// exists only for the public test vectors.
//
// Secret keys are Secret<32>; nonces are RFC 6979 (libsecp256k1 default) and
// every signature produced is low-S.
#pragma once

#include <array>
#include <span>

#include <secp256k1.h>

#include "common/result.h"
#include "crypto/hash.h"
#include "crypto/secret.h"

namespace pp::crypto {

using PubKey33 = std::array<uint8_t, 33>;
constexpr size_t kMaxDerSigBytes = 72;

// Creates and randomizes the context (seed from libsodium). Idempotent.
Result<void> secp_init() noexcept;
// The context; secp_init() must have succeeded (asserted).
const secp256k1_context *secp_ctx() noexcept;

struct PublicKey {
    secp256k1_pubkey key;
};

struct Signature {
    secp256k1_ecdsa_signature sig;
};

// Exactly 33 bytes, 02/03 prefix, x < p, on the curve. Everything else is bad_key.
Result<PublicKey> parse_pubkey(std::span<const uint8_t> compressed33) noexcept;
// Test-vector parser: 33-byte compressed or 65-byte 04-uncompressed (hybrid 06/07 rejected).
Result<PublicKey> parse_pubkey_any(std::span<const uint8_t> bytes) noexcept;
PubKey33 serialize_pubkey(const PublicKey &pk) noexcept;

// BIP66 strict DER shape check of a bare signature (no sighash byte).
Result<void> check_strict_der(std::span<const uint8_t> der) noexcept;
// Strict DER, then low-S; high-S gives Errc::high_s.
Result<Signature> parse_signature(std::span<const uint8_t> der) noexcept;
// Strict DER but high-S allowed: only for the plain-ECDSA vector tests.
Result<Signature> parse_signature_allow_high_s(std::span<const uint8_t> der) noexcept;

Result<void> ecdsa_verify(const Signature &sig, std::span<const uint8_t, 32> digest32,
                          const PublicKey &pk) noexcept;
// parse_signature + ecdsa_verify in one call: the API-side check.
Result<void> ecdsa_verify_der(std::span<const uint8_t> der, std::span<const uint8_t, 32> digest32,
                              const PublicKey &pk) noexcept;

// Secret-key validity: non-zero and below the group order.
bool seckey_valid(const Secret<32> &sk) noexcept;
Result<PublicKey> pubkey_from_seckey(const Secret<32> &sk) noexcept;
// RFC 6979 deterministic, low-S; returns strict DER.
Result<Bytes> ecdsa_sign_der(const Secret<32> &sk, std::span<const uint8_t, 32> digest32) noexcept;

// x-coordinate of scalar·point (the ECDH value DESIGN.md §3 names x).
Result<Secret<32>> ecdh_x(const Secret<32> &scalar, const PublicKey &point) noexcept;

}  // namespace pp::crypto

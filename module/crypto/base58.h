// SPDX-License-Identifier: MIT
// Base58, Base58Check and P2PKH addresses (DESIGN.md §3 "Patches": owner
// addresses are Base58Check P2PKH, version 0x00 main, 0x6f test).
//
// Ownership: every function returns a fresh value; nothing keeps a pointer to
// its input. Scratch buffers are wiped because the same codec carries WIF
// private keys; the returned string or bytes belong to the caller, who must
// treat them as secret when they are.
//
// Sizes: base58_decode and base58check_decode accept at most
// kMaxBase58Chars characters (longer input is bad_length before any work) so
// the quadratic base conversion cannot be used to burn CPU. Encoding takes
// any size; callers pass short, trusted buffers.
//
// Errors: decoders are strict. No whitespace, no characters outside the
// Bitcoin alphabet (0, O, I, l and every non-ASCII byte are bad_base58).
// Base58Check needs at least 5 decoded bytes (bad_length) and a matching
// 4-byte SHA256d checksum (bad_checksum). parse_p2pkh_address additionally
// needs exactly 21 bytes (bad_length) and the version of the requested
// network (bad_version).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "crypto/hash.h"

namespace pp::crypto {

enum class Network { main, test };  // P2PKH version 0x00 main, 0x6f test

inline constexpr size_t kMaxBase58Chars = 1024;

constexpr uint8_t p2pkh_version(Network net) noexcept
{
    return net == Network::main ? 0x00 : 0x6f;
}

// "main" | "mainnet" -> main, "test" | "testnet" -> test, else invalid_argument.
Result<Network> parse_network(std::string_view name);

std::string base58_encode(std::span<const uint8_t> data);
// Each leading '1' is one 0x00 byte; the empty string decodes to no bytes.
Result<Bytes> base58_decode(std::string_view text);

// Appends the first 4 bytes of SHA256d(versioned_payload), then encodes.
std::string base58check_encode(std::span<const uint8_t> versioned_payload);
// Returns version || payload (checksum removed).
Result<Bytes> base58check_decode(std::string_view text);

// hash160 (RIPEMD160(SHA256)) of the 33-byte compressed point. The point is
// not validated here; the secp256k1 module does that.
Hash160 pubkey_hash(std::span<const uint8_t, 33> compressed_pubkey);

std::string p2pkh_address(const Hash160 &h, Network net);
std::string p2pkh_address(std::span<const uint8_t, 33> compressed_pubkey, Network net);

// Accepts only a P2PKH address of `net`: P2SH, WIF, other networks and
// anything not exactly version || 20 bytes are rejected.
Result<Hash160> parse_p2pkh_address(std::string_view address, Network net);

}  // namespace pp::crypto

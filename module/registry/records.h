// SPDX-License-Identifier: MIT
// Patch records and the messages signed about them (DESIGN.md §3 "Patches"
// and "Point of sale claim"): pure functions, no I/O, unit-tested on their own
// (tests/unit/test_records.cpp).
//
// Two serialisations of one record matter:
//   - the on-chain bytes: compact JSON with every key in the order it was
//     received (insertion order), so metadata_sha256 can be recomputed later
//     from the stored record — jansson keeps insertion order when parsing;
//   - recordHash: hex SHA-256 of the compact JSON with keys SORTED at every
//     depth, which any reader can recompute whatever order it parsed in.
//
// Signed messages are compact JSON (or the POS pipe string) hashed once with
// SHA-256; signatures are strict DER, low-S, against 33-byte compressed keys.
//
// Ownership: functions borrow their json_t arguments (no incref/decref) and
// return new values the caller owns. Nothing here is secret apart from the
// content key, which lives in a Secret<32> and is wiped on every path.
// Thread-safety: none needed (no shared state); the secp256k1 context must be
// initialised (crypto::secp_init) before the verify functions run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <jansson.h>

#include "common/json.h"
#include "common/result.h"
#include "common/text.h"
#include "crypto/base58.h"
#include "crypto/hash.h"
#include "crypto/secret.h"

namespace pp::registry {

// Limits on client-controlled sizes (bytes of UTF-8 unless noted).
inline constexpr size_t kUidMinChars = 3;
inline constexpr size_t kUidMaxChars = 128;
inline constexpr size_t kProductFieldMaxBytes = 256;
inline constexpr size_t kNotesMaxBytes = 4096;
inline constexpr size_t kImageUrlMaxBytes = 2048;
inline constexpr size_t kLocationMaxBytes = 256;
inline constexpr size_t kMaxSignatureHexChars = 146;   // 72-byte DER + sighash headroom, as SVD
inline constexpr size_t kContentMaxBytes = 64 * 1024;  // unlockable content, UTF-8 bytes
inline constexpr size_t kNonceMinChars = 6;
inline constexpr size_t kNonceMaxChars = 128;
inline constexpr size_t kApprovedByMaxBytes = 128;

// ^[A-Za-z0-9._:-]{3,128}$
bool valid_uid(std::string_view uid) noexcept;
// Uids a registration may not take because the routes read them as a path
// word (DESIGN.md §3 Patches): verify, pending, proof, and any ending in .pdf
// (any case), which /certificate/ serves as the PDF.
bool reserved_uid(std::string_view uid) noexcept;
// Exactly 64 hex digits (either case).
bool valid_txid(std::string_view txid) noexcept;
// Exactly 32 hex digits (either case): pending ids and claim-intent ids.
bool valid_id32(std::string_view id) noexcept;
// Non-empty hex of even length, at most kMaxSignatureHexChars.
bool valid_signature_hex(std::string_view hex) noexcept;
// http:// or https:// (scheme in any case), a non-empty host, no whitespace
// or control characters, at most kImageUrlMaxBytes.
bool valid_http_url(std::string_view url) noexcept;
// kNonceMinChars..kNonceMaxChars visible ASCII (0x21..0x7e): the nonce sits in
// a signed pipe string and in a PAD SPACE unique key, so no spaces.
bool valid_nonce(std::string_view nonce) noexcept;
// userId and lower-casing rules live in common/text.h (valid_user_id, ascii_lower).

// One path segment with %XX escapes decoded (a client's encodeURIComponent
// turns ':' into %3A). bad_hex for a broken escape; invalid_argument for a
// decoded NUL or '/'.
Result<std::string> percent_decode_segment(std::string_view segment);

// Hex SHA-256 of the compact JSON of `metadata` in insertion order (as the
// client sent it). bad_json if it cannot be serialised canonically.
Result<std::string> metadata_sha256(const json_t *metadata);

// C = {"metadata_sha256":…,"purpose":"register_patch","ts":…,"uid_tag_id":…},
// compact, keys sorted. The issuer signs SHA256(C).
std::string issuer_message(std::string_view uid, std::string_view metadata_sha256_hex, int64_t ts_ms);

// {"purpose":"transfer_ownership","uid_tag_id":U,"currentTxid":T,"newOwnerAddress":A}
// in exactly this key order.
std::string transfer_message(std::string_view uid, std::string_view current_txid, std::string_view new_owner);
// {"purpose":"unlock_content","uid_tag_id":U,"currentTxid":T}
std::string unlock_message(std::string_view uid, std::string_view current_txid);
// PATCHPROOF_CLAIM|uid:<uid>|addr:<address>|ts:<ts>|nonce:<nonce>
std::string pos_claim_message(std::string_view uid, std::string_view address, int64_t ts_ms,
                              std::string_view nonce);

struct IssuerSignature {
    std::string signature_hex;  // strict DER, low-S, lowercase hex
    std::string pubkey_hex;     // compressed, lowercase hex
};

// {type:"AUTHENTICATION_RECORD", product, metadata, auth:{owner,
// issuer_signature, issuer_pubkey, ts}}; product and metadata are deep
// copies, keys in the order received. invalid_argument for null/non-objects.
Result<JsonPtr> registration_record(const json_t *product, const json_t *metadata, std::string_view owner,
                                    const IssuerSignature &issuer, int64_t ts_ms);

struct OwnerTransfer {
    std::string new_owner;
    std::string prev_txid;
    std::string current_owner_pubkey_hex;
    std::string current_owner_signature_hex;
    int64_t transferred_at_ms = 0;
};

struct PosTransfer {
    std::string new_owner;
    std::string prev_txid;
    std::string approved_by;
    std::string claim_intent_id;
    int64_t transferred_at_ms = 0;
};

// The current record (deep-copied) with auth.owner = new owner and
// auth.previous_owner, prev_txid, and either current_owner_pubkey /
// current_owner_signature (owner transfer) or pos_approved_by /
// claim_intent_id (POS), plus transferred_at. Fields of the other kind left by
// an earlier transfer are removed; issuer_signature, issuer_pubkey and ts are
// untouched. bad_json if `current` has no auth.owner string.
Result<JsonPtr> transfer_record(const json_t *current, const OwnerTransfer &t);
Result<JsonPtr> pos_transfer_record(const json_t *current, const PosTransfer &t);

struct EncodedRecord {
    std::string on_chain;     // compact JSON, insertion order
    std::string record_hash;  // hex SHA-256 of compact sorted-key JSON
};
Result<EncodedRecord> encode_record(const json_t *record);
// Hex SHA-256 of the compact sorted-key JSON of `record`.
Result<std::string> record_hash(const json_t *record);

// SHA-256 of `message`, then strict-DER low-S ECDSA verify against the
// compressed key. bad_key / bad_hex / bad_der / high_s / verify_failed.
Result<void> verify_message_signature(std::string_view message, std::string_view pubkey_hex,
                                      std::string_view signature_hex);

// P2PKH address of a compressed public key given in hex; bad_key unless it
// is a valid compressed point.
Result<std::string> address_of_pubkey(std::string_view pubkey_hex, crypto::Network net);

// Recomputes C from the stored record (product.uid_tag_id, metadata in its
// stored order, auth.ts) and verifies auth.issuer_signature against
// auth.issuer_pubkey. ok exactly when the record is authentic; bad_json when a
// field the check needs is missing or of the wrong type.
Result<void> verify_issuer_signature(const json_t *record);

// Unlockable content: key = HMAC-SHA256(master, "patch-content:" + uid),
// XChaCha20-Poly1305 (IETF) with the uid as associated data and a random
// 24-byte nonce.
inline constexpr size_t kContentNonceBytes = 24;
void content_key(crypto::Secret<32> &out, std::span<const uint8_t, 32> master, std::string_view uid) noexcept;

struct SealedContent {
    Bytes nonce;       // kContentNonceBytes
    Bytes ciphertext;  // plaintext + 16-byte tag
};
SealedContent seal_content(std::span<const uint8_t, 32> master, std::string_view uid, std::string_view plaintext);
// verify_failed if the tag, uid or key does not match; bad_length for a
// nonce of the wrong size or a ciphertext shorter than the tag.
Result<std::string> open_content(std::span<const uint8_t, 32> master, std::string_view uid,
                                 std::span<const uint8_t> nonce, std::span<const uint8_t> ciphertext);

}  // namespace pp::registry

// SPDX-License-Identifier: MIT
// Bitcoin SV transactions: wire (de)serialization, txids, standard script
// templates (P2PKH, OP_FALSE OP_RETURN) and signature hashes.
//
// Ownership: every function is pure; returned values own their bytes and
// nothing keeps a reference to its arguments.
// Byte orders: integers on the wire are little-endian, lengths and counts
// are Bitcoin CompactSize varints (canonical form required when reading).
// Hash256 values (OutPoint::txid, txid_internal, sighash results) are kept in
// internal order, the raw sha256d output; only the *_hex helpers use the
// reversed display order shown by explorers and the chain API.
// Errors: returned as values, never thrown. parse_tx and read_varint accept
// untrusted bytes: truncated or malformed input -> parse_error,
// non-canonical varint -> parse_error, counts/lengths that cannot fit the
// remaining bytes -> parse_error, amounts above MAX_MONEY -> out_of_range,
// trailing bytes -> parse_error. Sighash functions return out_of_range for
// an input index past the inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "crypto/hash.h"

namespace pp::crypto {

constexpr uint32_t SIGHASH_ALL = 0x01, SIGHASH_NONE = 0x02, SIGHASH_SINGLE = 0x03,
                   SIGHASH_FORKID = 0x40, SIGHASH_ANYONECANPAY = 0x80;

// 21 million coins in satoshis; no valid output or transaction exceeds it.
constexpr uint64_t MAX_MONEY = 21'000'000ULL * 100'000'000ULL;

// CompactSize: <0xfd one byte; 0xfd+u16; 0xfe+u32; 0xff+u64 (all LE).
void write_varint(Bytes &out, uint64_t v);
// Reads at in[pos...]; advances pos only on success. Rejects truncation and
// encodings that are longer than necessary (parse_error).
Result<uint64_t> read_varint(std::span<const uint8_t> in, size_t &pos);

struct OutPoint {
    Hash256 txid{};  // internal (natural sha256d) byte order
    uint32_t vout = 0;
};
struct TxIn {
    OutPoint prevout;
    Bytes script_sig;
    uint32_t sequence = 0xffffffff;
};
struct TxOut {
    uint64_t satoshis = 0;
    Bytes script;
};
struct Tx {
    uint32_t version = 1;
    std::vector<TxIn> inputs;
    std::vector<TxOut> outputs;
    uint32_t locktime = 0;
};

Bytes serialize(const Tx &tx);
// Whole buffer must be one transaction. A syntactic decode only: no
// signature or consensus checks beyond the amount range.
Result<Tx> parse_tx(std::span<const uint8_t> raw);
Hash256 txid_internal(const Tx &tx);                          // sha256d(serialize(tx))
std::string txid_hex(const Tx &tx);                           // reversed, lowercase hex
Result<Hash256> txid_from_hex(std::string_view display_hex);  // 64 hex digits -> internal order

// Scripts
// Minimal push opcode for the length: 0 -> OP_0; 1..75 direct; 76..255
// OP_PUSHDATA1; ..65535 OP_PUSHDATA2; else OP_PUSHDATA4. Data bytes are never
// rewritten as OP_1..OP_16. Data longer than 0xffffffff cannot be encoded and
// aborts (no transaction can hold it).
void push_data(Bytes &script, std::span<const uint8_t> data);
Bytes p2pkh_script(const Hash160 &pubkey_hash);  // 76 a9 14 <20> 88 ac
// Recognises exactly the 25-byte template above; anything else -> invalid_argument.
Result<Hash160> p2pkh_script_hash(std::span<const uint8_t> script);
Bytes op_return_script(std::span<const Bytes> pushes);  // 00 6a then push_data of each
Bytes p2pkh_script_sig(std::span<const uint8_t> der_sig_with_hashtype,
                       std::span<const uint8_t, 33> pubkey);

// Signature hashes: the 32-byte sha256d digest in natural order, i.e. what
// gets ECDSA-signed. hashtype is the full 32-bit value; all of it goes into
// the preimage, while its base type is hashtype & 0x1f.
//
// BIP143-style digest (BSV replay protection); the script code is used as
// given, OP_CODESEPARATOR included.
Result<Hash256> sighash_forkid(const Tx &tx, size_t input_index,
                               std::span<const uint8_t> script_code, uint64_t amount,
                               uint32_t hashtype);
// Original digest: other inputs' scripts blanked, OP_CODESEPARATORs removed
// from the script code the way the node does it; SINGLE without a matching
// output yields the constant 1 (byte 0 = 0x01, rest zero).
Result<Hash256> sighash_legacy(const Tx &tx, size_t input_index,
                               std::span<const uint8_t> script_code, uint32_t hashtype);
// FORKID bit set -> sighash_forkid, else sighash_legacy (amount unused).
Result<Hash256> signature_hash(const Tx &tx, size_t input_index,
                               std::span<const uint8_t> script_code, uint64_t amount,
                               uint32_t hashtype);

}  // namespace pp::crypto

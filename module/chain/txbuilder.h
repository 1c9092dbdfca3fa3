// SPDX-License-Identifier: MIT
// Builds the transactions PatchProof broadcasts (DESIGN.md §4): version 1,
// P2PKH funding inputs, then in this order an optional OP_FALSE OP_RETURN
// output (a record, a batch root), optional fixed P2PKH outputs paying the
// change script (a split), and P2PKH change (a sweep has only that), fee
// from a rate in satoshis per 1000 bytes. The
// builder never sees a private key: it returns each input's FORKID sighash
// (SIGHASH_ALL|FORKID, with the prevout amount) for the KMS to sign, then
// assembles the scriptSigs from the KMS's answers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "crypto/hash.h"
#include "crypto/tx.h"
#include "kms/client.h"

namespace pp::chain {

inline constexpr uint64_t kDustLimit = 1;  // BSV relays 1-sat outputs
// Bytes of data pushes one transaction may carry (records are a few KiB;
// anything near this is a bug upstream, not a record).
inline constexpr size_t kMaxDataBytes = 1u << 20;
// Estimated size of a signed P2PKH input's scriptSig: push(71-byte low-S DER
// + hashtype) push(33-byte pubkey) = 1+72+1+33.
inline constexpr size_t kSignedScriptSigBytes = 107;

struct FundingInput {
    uint64_t utxo_id = 0;      // utxos.id
    std::string txid;          // display hex
    uint32_t vout = 0;
    uint64_t satoshis = 0;
    std::string key_id;        // KMS keyIdentifier, compressed pubkey hex
    Bytes script;              // the locking script being spent (P2PKH)
};

struct BuildParams {
    bool data_output = true;              // false: no OP_RETURN output (sweep, split)
    std::vector<Bytes> data_pushes;       // pushed after OP_FALSE OP_RETURN, in order
    std::vector<uint64_t> fixed_outputs;  // amounts paid to change_script before the change (split)
    std::vector<FundingInput> inputs;
    Bytes change_script;                  // P2PKH of UTXO_CHANGE_ADDRESS
    uint64_t fee_per_kb = 500;
};

// The outputs of a transaction, for size and fee estimates.
struct TxShape {
    size_t inputs = 1;
    std::optional<size_t> data_script_bytes;  // the OP_RETURN output's locking script; nullopt: none
    size_t fixed_outputs = 0;                 // P2PKH outputs of fixed amounts
    bool with_change = true;
};

struct UnsignedTx {
    crypto::Tx tx;
    std::vector<crypto::Hash256> sighashes;  // one per input, sign as is
    uint64_t fee = 0;
    std::optional<uint32_t> change_vout;     // absent when change would be dust
    uint64_t change_satoshis = 0;
};

// Serialized size of a signed transaction of this shape (107-byte scriptSigs).
size_t estimate_tx_size(const TxShape &shape);
// Size-based fee for it (rounded up, at least 1 sat when fee_per_kb > 0).
uint64_t estimate_fee(const TxShape &shape, uint64_t fee_per_kb);
// Total input value the shape needs: its fee with change, the fixed outputs
// (fixed_total) and a change output at the dust limit. The shape's
// with_change is ignored (counted as true).
uint64_t required_funding(const TxShape &shape, uint64_t fixed_total, uint64_t fee_per_kb);
// Length of the OP_FALSE OP_RETURN locking script carrying these pushes.
size_t data_script_bytes(std::span<const Bytes> pushes);

// The record shapes: `inputs` P2PKH inputs, one data output whose locking
// script is op_return_script_bytes long, and optionally a P2PKH change output.
size_t estimate_tx_size(size_t inputs, size_t op_return_script_bytes, bool with_change);

// Size-based fee for a transaction of this shape (rounded up, at least 1 sat
// when fee_per_kb > 0); data_bytes is counted as one push (00 6a, push
// opcode, data).
uint64_t estimate_fee(size_t inputs, size_t data_bytes, bool with_change, uint64_t fee_per_kb);
// Total input value needed for data_bytes of pushes with one input and change.
// That is the fee with change plus a change output at the dust limit.
uint64_t required_funding(size_t data_bytes, size_t inputs, uint64_t fee_per_kb);

// out_of_range when the inputs cannot pay the fixed outputs and the fee (and,
// with neither a data nor a fixed output, a change output above dust: a
// transaction needs an output); invalid_argument for an empty input list, a
// bad script or a fixed output of 0 or above MAX_MONEY in total.
Result<UnsignedTx> build_unsigned(const BuildParams &params);

// The KMS signatures, aligned with the inputs: each pubkey must equal the
// input's key_id and each signature must verify over its sighash (else
// Errc::verify_failed). Returns the fully signed raw transaction.
Result<Bytes> attach_signatures(UnsignedTx &utx, std::span<const FundingInput> inputs,
                                std::span<const kms::SignResult> signatures);

}  // namespace pp::chain

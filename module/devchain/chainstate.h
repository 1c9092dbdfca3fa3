// SPDX-License-Identifier: MIT
// patchproof-devchain's chain: a validating, MariaDB-backed stand-in for a
// Bitcoin SV node, for development and tests only (it has no peers, no
// proof of work and no script interpreter beyond P2PKH).
//
// What it checks when a transaction is submitted, in a node's order: decode,
// non-empty inputs and outputs, no duplicate or null prevouts, every input
// exists and is unspent (a spend by a mempool transaction is a mempool
// conflict, a spend in a block or an unknown outpoint is "Missing inputs"),
// outputs <= inputs, fee >= the configured minimum, then each input as
// P2PKH: push-only <sig+hashtype> <33-byte key>, hash160(key) equals the
// prevout's hash, strict DER, low-S, a defined hashtype with FORKID, and an
// ECDSA signature over the FORKID digest of the prevout amount. A rejection
// carries the node's text (reject:: below), never a C++ error.
//
// Concurrency: all state is in MariaDB, so any number of worker processes
// may share one chain. Validation and insertion of a transaction run in one
// SQL transaction that reads the spent outputs FOR UPDATE (two spends of one
// output can never both be accepted); mining takes the single tip row FOR
// UPDATE (two workers never mine the same height).
//
// Ownership: a ChainState owns its Db (one per worker process, not
// thread-safe). Transactions run through store::with_txn, so a deadlock or
// lock-wait timeout re-runs one whole (never continues it); Errc::deadlock
// after the last attempt. Errors: Result values; Errc::unavailable / timeout /
// conflict / deadlock / internal come from MariaDB, not_found from lookups. Nothing
// here throws on purpose; callers still keep one catch-all per request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "crypto/base58.h"
#include "crypto/hash.h"
#include "crypto/tx.h"
#include "store/db.h"
#include "store/txn.h"

namespace pp::devchain {

// Reject texts, as a node gives them.
namespace reject {
inline constexpr std::string_view decode_failed = "TX decode failed";
inline constexpr std::string_view vin_empty = "bad-txns-vin-empty";
inline constexpr std::string_view vout_empty = "bad-txns-vout-empty";
inline constexpr std::string_view vout_toolarge = "bad-txns-vout-toolarge";
inline constexpr std::string_view inputs_duplicate = "bad-txns-inputs-duplicate";
inline constexpr std::string_view prevout_null = "bad-txns-prevout-null";
inline constexpr std::string_view coinbase = "coinbase";
inline constexpr std::string_view missing_inputs = "Missing inputs";
inline constexpr std::string_view mempool_conflict = "258: txn-mempool-conflict";
inline constexpr std::string_view inputvalues_outofrange = "bad-txns-inputvalues-outofrange";
inline constexpr std::string_view in_belowout = "bad-txns-in-belowout";
inline constexpr std::string_view insufficient_fee = "66: insufficient priority";
// Script failures: "16: mandatory-script-verify-flag-failed (<script error>)".
inline constexpr std::string_view script_prefix = "16: mandatory-script-verify-flag-failed (";
inline constexpr std::string_view err_nullfail = "Signature must be zero for failed CHECK(MULTI)SIG operation";
inline constexpr std::string_view err_equalverify = "Script failed an OP_EQUALVERIFY operation";
inline constexpr std::string_view err_der = "Non-canonical DER signature";
inline constexpr std::string_view err_high_s = "Non-canonical signature: S value is unnecessarily high";
inline constexpr std::string_view err_hashtype = "Signature hash type missing or not understood";
inline constexpr std::string_view err_forkid = "Signature must use SIGHASH_FORKID";
inline constexpr std::string_view err_pubkeytype = "Public key is neither compressed or uncompressed";
inline constexpr std::string_view err_pushonly = "Only non-push operators allowed in signatures";
inline constexpr std::string_view err_stack = "Invalid stack operation";
inline constexpr std::string_view err_bad_opcode = "Opcode missing or not understood";
inline constexpr std::string_view err_cleanstack = "Extra items left on stack after execution";
inline constexpr std::string_view err_eval_false =
    "Script evaluated without error but finished with a false/empty top stack element";
}  // namespace reject

// The script error of one P2PKH input (empty when it verifies). `pkh` is the
// hash160 the prevout pays to, `amount` its value (part of the FORKID
// digest). Pure; needs crypto::secp_init(). Index past the inputs is a
// contract break: it yields err_eval_false.
std::string_view check_p2pkh_input(const crypto::Tx &tx, size_t index, uint64_t amount,
                                   const crypto::Hash160 &pkh);

// True for scripts no one can ever spend (OP_RETURN, OP_FALSE OP_RETURN);
// they stay out of the UTXO set, as in a node.
bool provably_unspendable(std::span<const uint8_t> script) noexcept;

// Minimum fee for a transaction of `size_bytes` at `sat_per_kb` (per 1000
// bytes), rounded up.
uint64_t min_fee(size_t size_bytes, uint64_t sat_per_kb) noexcept;

// The genesis funding transaction: one coinbase-like input (null prevout,
// a script naming the devchain and `stamp`), `outputs` P2PKH outputs of
// `sats` each to `pkh`.
crypto::Tx make_genesis_tx(const crypto::Hash160 &pkh, uint32_t outputs, uint64_t sats, uint64_t stamp);

struct ChainOptions {
    uint64_t min_fee_per_kb = 250;
};

struct Genesis {
    crypto::Hash160 pkh{};
    uint32_t outputs = 10;
    uint64_t sats = 1'000'000;
};

struct Tip {
    int64_t height = -1;     // -1: no block yet
    std::string hash;        // display hex
    int64_t mined_at = 0;    // unix seconds
};

struct SubmitOutcome {
    enum class Kind { accepted, known, rejected };
    Kind kind = Kind::rejected;
    std::string txid;        // display hex; empty when the bytes did not decode
    std::string reason;      // node text, only for rejected
};

struct UnspentOutput {
    std::string txid;
    uint32_t vout = 0;
    uint64_t satoshis = 0;
    int64_t height = 0;          // 0 in the mempool
    int64_t confirmations = 0;
};

struct TxRecord {
    std::string txid;
    std::string hex;
    std::optional<int64_t> block_height;  // nullopt in the mempool
    int64_t confirmations = 0;
};

struct MineOutcome {
    int64_t height = 0;   // tip after mining
    int mined = 0;        // blocks made by this call
};

class ChainState {
public:
    ChainState(store::Db db, ChainOptions opt);

    // First start only (empty chain): block 0, then, with a genesis, its
    // funding transaction in block 1. Later starts leave the chain alone.
    // *created (if given) tells which happened.
    Result<void> init(const std::optional<Genesis> &genesis, bool *created = nullptr);

    // Validates and, if valid, adds to the mempool. A transaction already
    // known (mempool or block) is Kind::known with its txid.
    Result<SubmitOutcome> submit(std::string_view raw_hex);

    // Unspent P2PKH outputs paying `pkh`, excluding those a mempool
    // transaction spends; oldest first, at most `limit`.
    Result<std::vector<UnspentOutput>> unspent(const crypto::Hash160 &pkh, size_t limit);

    Result<Tip> tip();

    // display-hex txid (either case); Errc::not_found if unknown.
    Result<TxRecord> find_tx(std::string_view txid_hex);

    // Mines `blocks` blocks, the first holding every mempool transaction.
    // With min_age_sec >= 0 it mines one block only if the tip is at least
    // that old (checked under the tip lock), else returns mined = 0.
    Result<MineOutcome> mine(int blocks, int64_t min_age_sec = -1);

private:
    // One run of submit's transaction (store::with_txn may run it again).
    Result<SubmitOutcome> submit_once(store::Txn &txn, const crypto::Tx &tx, std::string_view raw_hex,
                                      const std::string &txid, size_t size);
    Result<void> append_block(Tip &tip, const std::vector<std::string> &txids, int64_t now);
    Result<void> insert_tx(const crypto::Tx &tx, const std::string &txid, std::string_view raw_hex, uint64_t fee,
                           int64_t now);

    store::Db db_;
    ChainOptions opt_;
};

}  // namespace pp::devchain

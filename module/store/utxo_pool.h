// SPDX-License-Identifier: MIT
// The funding UTXO pool (DESIGN.md §4): unconfirmed → available → locked →
// spent, and quarantined off that path (an output the chain did not confirm
// as unspent after a refused broadcast; never selected again). Select-and-lock, spend, unlock and reap are each single
// `UPDATE … WHERE id = ? AND version = ?` statements guarded by the version
// column and retried on conflict — never a read-modify-write in C++.
// Borrows the caller's Db (one per process).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/db.h"

namespace pp::store {

struct Utxo {
    uint64_t id = 0;
    std::string txid;        // display hex
    uint32_t vout = 0;
    uint64_t satoshis = 0;
    std::string key_id;
    std::string script_hex;
    std::string status;      // unconfirmed | available | locked | spent | quarantined
    uint64_t version = 0;
};

// Reading pool rows: kUtxoColumns (in that order) first, then `extra`
// columns the caller reads itself. Errc::internal for a row of another shape
// or with a NULL or out-of-range value.
inline constexpr const char *kUtxoColumns = "id, txid, vout, satoshis, key_id, script_hex, status, version";
Result<Utxo> utxo_from_row(const Row &r, size_t extra = 0);
Result<std::vector<Utxo>> utxos_from_rows(Result<std::vector<Row>> rows, size_t extra = 0);

struct PoolBucket {
    uint64_t count = 0;
    uint64_t total_satoshis = 0;
};

struct PoolStats {
    PoolBucket unconfirmed, available, locked, spent, quarantined;
};

class UtxoPool {
public:
    explicit UtxoPool(Db &db) : db_(db) {}

    // Locks, for job_id, the smallest available UTXO worth at least
    // need_satoshis; when none is big enough, several (largest first) that
    // together are. Returns an empty vector when the pool cannot cover it
    // right now (the caller waits and retries). Locks taken before a shortfall
    // is discovered are released again.
    Result<std::vector<Utxo>> lock_for_job(uint64_t job_id, uint64_t need_satoshis, int64_t now_ms);
    // Locks exactly these available UTXOs for job_id (a maintenance plan).
    // Meant for the caller's store::with_txn that also writes the job: false
    // when any of them is no longer available at the version given (the
    // caller rolls back, so none stays locked), invalid_argument for none.
    Result<bool> lock_exact(uint64_t job_id, const std::vector<Utxo> &utxos, int64_t now_ms);
    Result<std::vector<Utxo>> locked_by(uint64_t job_id);
    // The pool's entry for an outpoint, in any status; nullopt if none.
    Result<std::optional<Utxo>> find(std::string_view txid, uint32_t vout);
    // locked → spent for every UTXO locked by the job.
    Result<uint64_t> mark_spent(uint64_t job_id, std::string_view spent_txid);
    // locked → available for every UTXO locked by the job.
    Result<uint64_t> unlock(uint64_t job_id);
    // locked → available for one UTXO of the job; false when it is not
    // (or no longer) locked by job_id.
    Result<bool> release(uint64_t job_id, uint64_t utxo_id);
    // locked → quarantined for one UTXO of the job, with the reason (cut to
    // 255 bytes); locked_by stays as a record of the job that found it.
    Result<bool> quarantine(uint64_t job_id, uint64_t utxo_id, std::string_view reason);
    // Frees locks older than older_than_ms whose job has not yet stored a
    // signed transaction (a signed one may be in flight: never unlocked here)
    // and whose lease has run out at now_ms (a worker holding the job may be
    // signing with them right now).
    Result<uint64_t> reap(int64_t older_than_ms, int64_t now_ms);
    // Adds an output; conflict if that outpoint is already in the pool.
    Result<uint64_t> add(std::string_view txid, uint32_t vout, uint64_t satoshis, std::string_view key_id,
                         std::string_view script_hex, std::string_view status);
    // Marks every other available/unconfirmed UTXO spent (utxo add --exclusive).
    Result<uint64_t> mark_others_spent(uint64_t keep_id);
    Result<PoolStats> stats();

private:
    Db &db_;
};

}  // namespace pp::store

// SPDX-License-Identifier: MIT
// The pool writes of UTXO maintenance (DESIGN.md §3 Admin, §4): what `sync`
// reads to reconcile the pool with the chain, each change it makes as one
// version-guarded UPDATE, and the reads the sweep and split planners need.
//
// Every transition names the state it leaves and the version the caller
// read, so an output a worker locked (or changed in any way) since then
// matches 0 rows and is left alone: the functions answer false, never
// overwrite. A `locked` output is never a source state here.
//
// Ownership and failure model: borrows the caller's Db (one per process, not
// thread-safe); one statement each (autocommit alone, part of a caller's
// store::with_txn inside one). MariaDB errors are returned as they are.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/db.h"
#include "store/utxo_pool.h"

namespace pp::store {

// A pool entry sync may change (unconfirmed, available or quarantined) and
// the job that last locked it, if any.
struct SyncEntry {
    Utxo utxo;
    std::optional<uint64_t> last_job;
};

// Every unconfirmed, available or quarantined entry of these keys, by id.
Result<std::vector<SyncEntry>> sync_entries(Db &db, std::string_view key_a, std::string_view key_b);

// unconfirmed → available (it reached minConfirmations).
Result<bool> promote_unconfirmed(Db &db, const Utxo &u);
// quarantined → `to` (available, or unconfirmed for an outside output that
// still waits for confirmations): the chain lists it unspent again.
Result<bool> release_quarantined(Db &db, const Utxo &u, std::string_view to);
// available/unconfirmed → spent by our transaction spent_txid.
Result<bool> mark_spent_by(Db &db, const Utxo &u, std::string_view spent_txid);
// available/unconfirmed → quarantined with the reason (cut to 255 bytes).
Result<bool> quarantine_entry(Db &db, const Utxo &u, std::string_view reason);

// A transaction the service stored for a job (raw hex and txid).
struct StoredTx {
    uint64_t job_id = 0;
    std::string txid, raw_hex;
};
// The stored transaction of job_id; nullopt when it has none.
Result<std::optional<StoredTx>> job_tx(Db &db, uint64_t job_id);
// Stored transactions whose bytes contain `needle` (lowercase hex, e.g. an
// outpoint as it is serialized): candidates only, the caller parses them.
// At most `limit`.
Result<std::vector<StoredTx>> job_txs_containing(Db &db, std::string_view needle, int64_t limit);
// True when some job stored a transaction with this txid (it is ours).
Result<bool> is_job_txid(Db &db, std::string_view txid);

// Available outputs below `below` satoshis, smallest first, at most limit.
Result<std::vector<Utxo>> available_dust(Db &db, uint64_t below, int64_t limit);
// How many available outputs hold at least `min_sats`.
Result<uint64_t> count_available_at_least(Db &db, uint64_t min_sats);
// The largest available output (nullopt when there is none).
Result<std::optional<Utxo>> largest_available(Db &db);
// Every entry of the pool in one status, by id (tests and the race check).
Result<std::vector<Utxo>> entries_in(Db &db, std::string_view status);

}  // namespace pp::store

// SPDX-License-Identifier: MIT
// The transactions that move a job's pending record and pool entries along
// with its steps (DESIGN.md §1, §4): the record marked anchoring, a job sent
// back to the queue, the final "done" transaction and the failure one.
//
// Each function is one store::with_txn: on a deadlock, a lock-wait timeout or
// a refused COMMIT the whole transaction is re-run from its start (with
// backoff), never continued. `job` is updated only when the transaction
// committed. Errors: Errc::conflict means only "the job's version moved"
// (another worker holds the lease now: stop writing); Errc::deadlock when
// every re-run was aborted; any other Errc from the Db as it is.
//
// Borrows the caller's Db; single-threaded like it.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/db.h"
#include "store/jobs.h"

namespace pp::store {

// An output of the job's transaction that pays the change address.
struct ChangeOutput {
    uint32_t vout = 0;
    uint64_t satoshis = 0;
    std::string script_hex;
};

// What the broadcast transaction put on chain, as the worker derived it
// from the stored bytes and the record.
struct Anchor {
    std::string record_hash;    // hex SHA-256 of the record's sorted-key form
    std::string owner_address;  // the record's auth.owner
    std::vector<ChangeOutput> change;
    std::string change_key_id;  // KMS key of the change address
    int64_t now_ms = 0;
};

struct AnchorOutcome {
    // Empty: the record is the patch's state now and the job is done.
    // Otherwise the patch state could not take the anchored record (the uid
    // belongs to another record, or the state moved before a transfer
    // confirmed): the job and record are failed with this reason, while the
    // inputs are spent and the change is in the pool all the same.
    std::string refused;
};

// queued → inputs_locked, pending record → 'anchoring' (a record job; the
// other kinds have none, so for them it is the job's step alone).
Result<void> mark_inputs_locked(Db &db, Job &job, int64_t lease_until_ms);

// inputs_locked → signed with the raw transaction and txid, only while every
// input the transaction spends is still locked by this job (checked under
// row locks in the same transaction): a reaper on another host that freed
// them meanwhile makes this not_found, and nothing is stored, so those
// outputs can never be in two signed transactions. conflict: the job's
// version moved.
Result<void> store_signed(Db &db, Job &job, const std::vector<uint64_t> &input_ids, std::string_view raw_hex,
                          std::string_view txid, int64_t lease_until_ms);

// Inputs back to available, job back to queued with an attempt counted and
// the next one at next_attempt_ms.
Result<void> requeue_job(Db &db, Job &job, std::string_view reason, int64_t next_attempt_ms);

// The final transaction of a job at 'broadcast' (job.txid set): its inputs
// spent, its change in the pool (once), patch state and history written,
// the POS claim intent and pending record confirmed, the job done.
Result<AnchorOutcome> confirm_anchor(Db &db, Job &job, const Anchor &a);

struct Failure {
    std::string reason;          // short fixed text, shown to the client
    bool on_chain = false;       // the job's transaction is on chain: show its txid
    // Of the UTXOs the job holds, those the chain lists as unspent; they go
    // back to 'available'. Every other one is quarantined with the reason,
    // so an output that may be spent is never selected again.
    std::set<uint64_t> unspent;
    int64_t now_ms = 0;
};

// The failure transaction: last attempt counted, job failed, pending record
// failed, inputs released or quarantined as above, a transfer's hold on the
// patch state cleared, the POS claim intent failed.
Result<void> fail_anchor(Db &db, Job &job, const Failure &f);

// ---- sweep, split and anchor jobs (no pending record) --------------------

// What a maintenance or anchor transaction put on chain.
struct Maintenance {
    std::vector<ChangeOutput> outputs;  // every output paying the change script
    std::string change_key_id;          // KMS key of the change address
};

struct MaintenanceOutcome {
    // An anchor job without a pending batch (it is done all the same: the
    // transaction is on chain); worth an operator's look.
    bool batch_missing = false;
};

// The final transaction of a sweep, split or anchor job at 'broadcast': its
// inputs spent, every output to the change script in the pool as available
// (once), an anchor job's batch anchored with the txid (store/batches.h),
// the job done. invalid_argument for a record job.
Result<MaintenanceOutcome> confirm_maintenance(Db &db, Job &job, const Maintenance &m);

// Its failure transaction: last attempt counted, job failed, inputs
// released or quarantined as for fail_anchor (f.on_chain is unused: there is
// no pending record to show a txid), an anchor job's batch failed and its
// records free for a later batch. invalid_argument for a record job.
Result<void> fail_maintenance(Db &db, Job &job, const Failure &f);

}  // namespace pp::store

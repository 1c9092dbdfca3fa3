// SPDX-License-Identifier: MIT
// Batch anchoring (DESIGN.md §3 Admin "batch-anchor", Patches "proof"): a
// Merkle root over record hashes not yet in a batch, anchored by one
// 'anchor' job (store/jobs.h). A record joins at most one batch: its
// batch_id is set by a guarded UPDATE (… WHERE batch_id IS NULL) and cleared
// only when the batch failed.
//
// Ownership and failure model: functions run on the caller's Db (one per
// process, not thread-safe); the two below are meant for the worker's final
// and failure transactions (store::with_txn), so a batch changes state
// exactly when its job does.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.h"
#include "store/db.h"

namespace pp::store {

// The chain accepted the anchor job's transaction: its batch is anchored
// with txid and its records' proofs appear. False when the job has no
// pending batch (already anchored, or not an anchor job).
Result<bool> batch_anchored(Db &db, uint64_t job_id, std::string_view txid);
// The anchor job failed: its batch is failed and its records are free for a
// later batch. False when the job has no pending batch.
Result<bool> batch_failed(Db &db, uint64_t job_id);

}  // namespace pp::store

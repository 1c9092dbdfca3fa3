// SPDX-License-Identifier: MIT
// Batch anchoring (DESIGN.md §3 Admin "batch-anchor", Patches "proof"): a
// Merkle root over record hashes not yet in a batch, anchored by one
// 'anchor' job (store/jobs.h). A record joins at most one batch: its
// batch_id is set by a guarded UPDATE (… WHERE batch_id IS NULL) and cleared
// only when the batch failed.
//
// Life of a batch: write_batch (pending, with its job) → batch_anchored (the
// chain accepted the job's transaction: proofs appear) | batch_failed (the
// job gave up: its records are free for a later batch).
//
// Ownership and failure model: functions run on the caller's Db (one per
// process, not thread-safe); those marked "in a transaction" belong inside
// the caller's store::with_txn. batch_anchored and batch_failed are meant
// for the worker's final and failure transactions, so a batch changes state
// exactly when its job does. MariaDB errors are returned as they are.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/db.h"

namespace pp::store {

// A confirmed record not in any batch (records holds confirmed records only).
struct UnbatchedRecord {
    std::string txid, record_hash;  // record_hash: 64 lowercase hex
    int64_t confirmed_ms = 0;
};
// At most `limit` of them, oldest first: by confirmed_ms, then txid (the
// record id). A plain read: write_batch's guards catch a record another run
// took meanwhile.
Result<std::vector<UnbatchedRecord>> oldest_unbatched(Db &db, uint32_t limit);

// One leaf of a new batch: the record (by txid), its position and its path
// as compact JSON [{"hash","side"}…] from leaf to root.
struct BatchLeaf {
    std::string txid;
    std::string path_json;
};
struct NewBatch {
    std::string merkle_root;  // 64 lowercase hex
    std::vector<BatchLeaf> leaves;  // index in the vector = batch_index
};
struct WrittenBatch {
    uint64_t batch_id = 0, job_id = 0;
    uint32_t updated = 0;  // records whose path was stored
};
// In a transaction: the batch row (pending), every leaf's batch_id,
// batch_index and merkle_path by a guarded UPDATE, the anchor job
// {"batchId":B,"merkleRoot":hex} and the job id on the batch. conflict when
// a record is already in a batch or gone (the caller's transaction must
// then be abandoned: nothing of it may commit); invalid_argument for an
// empty batch.
Result<WrittenBatch> write_batch(Db &db, const NewBatch &batch);

// The chain accepted the anchor job's transaction: its batch is anchored
// with txid and its records' proofs appear. False when the job has no
// pending batch (already anchored, or not an anchor job).
Result<bool> batch_anchored(Db &db, uint64_t job_id, std::string_view txid);
// The anchor job failed: its batch is failed and its records are free for a
// later batch. False when the job has no pending batch.
Result<bool> batch_failed(Db &db, uint64_t job_id);

// A record's proof once its batch is anchored.
struct RecordProof {
    std::string record_hash, merkle_root, path_json, anchor_txid;
};
// By record hash (64 lowercase hex); nullopt until a record with this hash
// is in an anchored batch.
Result<std::optional<RecordProof>> find_proof(Db &db, std::string_view record_hash);

// The anchored batch of the record with this txid; nullopt when it is in
// none (yet).
struct RecordAnchor {
    std::string merkle_root, anchor_txid;
};
Result<std::optional<RecordAnchor>> anchor_of_record(Db &db, std::string_view txid);

}  // namespace pp::store

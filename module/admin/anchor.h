// SPDX-License-Identifier: MIT
// Batch anchoring, the one run behind POST /v1/admin/batch-anchor and
// `patchproof anchor` (DESIGN.md §3 Admin, "Who signs"): take the
// batch-anchor lease (admin/run.h), select the oldest confirmed records not
// in a batch, build their Merkle tree (crypto/merkle.h), write the batch,
// every record's path and the anchor job in one transaction
// (store/batches.h), then wait up to ADMIN_WAIT_SEC for patchproof-worker to
// sign the OP_FALSE OP_RETURN "PatchProofBatch" <root> transaction.
//
// Ownership: borrows the caller's Db for the call (one per process, not
// thread-safe). Errors are values; nothing here logs a secret (there is none
// in a batch: record hashes and roots are public).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <jansson.h>

#include "common/result.h"
#include "store/batches.h"
#include "store/db.h"

namespace pp::admin {

inline constexpr int64_t kAnchorDefaultLimit = 100;
inline constexpr int64_t kAnchorMaxLimit = 1000;

struct AnchorOptions {
    int64_t limit = kAnchorDefaultLimit;  // 1..kAnchorMaxLimit
    int64_t wait_sec = 20;                // ADMIN_WAIT_SEC
    int64_t lease_sec = 60;               // ADMIN_LEASE_SEC
};

enum class AnchorState {
    empty,      // nothing to anchor: no batch, no job
    signed_tx,  // the worker stored the signed transaction (200)
    waiting,    // not signed within wait_sec (202; the CLI exits 3)
    failed,     // the job failed: its batch is failed, its records free again
};

struct AnchorOutcome {
    AnchorState state = AnchorState::empty;
    std::optional<std::string> txid;
    std::optional<uint64_t> job_id;
    uint32_t processed = 0;  // records in the batch
    uint32_t updated = 0;    // records whose path was stored
    std::optional<std::string> error;  // failed: why the worker gave up
};

// Errc::conflict while another run holds the lease or an anchor job is
// unfinished, or when a selected record joined another batch meanwhile (then
// nothing was written); invalid_argument for a limit out of range; MariaDB
// errors as they are.
Result<AnchorOutcome> batch_anchor(store::Db &db, const AnchorOptions &opt);

// The tree over `records` in their order (leaf i = record i's raw hash):
// the root and each leaf's path as compact JSON [{"hash","side"}…].
// invalid_argument for no records or a hash that is not 64 hex digits.
Result<store::NewBatch> plan_batch(const std::vector<store::UnbatchedRecord> &records);

// {success, txid, jobId, processed, updated} (a new reference); a failed
// job adds its `error` text (success false, txid null).
json_t *anchor_outcome_json(const AnchorOutcome &o);

}  // namespace pp::admin

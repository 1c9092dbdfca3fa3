// SPDX-License-Identifier: MIT
// The operator's view of the jobs table (`patchproof jobs list|retry|check`,
// DESIGN.md §3 Admin): listing, counting failures, and sending a job back to
// work.
//
// retry_job_now decides by where the job stands:
//   - not done/failed and waiting for its next attempt: made ready now
//     (next_attempt_ms = 0), nothing else changes;
//   - held by a worker right now (lease running): refused (busy);
//   - failed registration job that never stored a transaction: re-queued
//     (step queued, attempts 0, error cleared) together with its pending
//     record (back to pending) in one transaction; refused when the uid got
//     registered or another registration of it is pending meanwhile;
//   - failed job WITH a stored transaction: refused (its bytes may be on
//     chain; signing again could pay twice): the watcher or an operator
//     decides;
//   - failed transfer, sweep, split or anchor job: refused (their holds on
//     the patch state, inputs or batch were released at failure; run the
//     action again instead);
//   - done: refused.
//
// Ownership and failure model: borrows the caller's Db; retry runs its own
// store::with_txn, the rest are single reads. MariaDB errors as they are.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/db.h"
#include "store/jobs.h"

namespace pp::store {

struct JobRow {
    uint64_t id = 0;
    JobKind kind = JobKind::record;
    JobStep step = JobStep::queued;
    uint32_t attempts = 0;
    int64_t next_attempt_ms = 0, lease_until_ms = 0;
    std::optional<std::string> pending_id, txid, last_error, payload;
    int64_t created_ms = 0, updated_ms = 0;  // unix milliseconds
    uint64_t version = 0;
};

// Newest first, at most limit; only jobs at `step` when given.
Result<std::vector<JobRow>> list_jobs(Db &db, std::optional<JobStep> step, int64_t limit);
// One job; nullopt when there is none.
Result<std::optional<JobRow>> get_job(Db &db, uint64_t id);

// Job counts per step (indexed by JobStep), and failed jobs updated within
// the last failed_within_sec seconds (0: every failed job).
struct JobCounts {
    uint64_t by_step[6] = {};
    uint64_t failed_recent = 0;
};
Result<JobCounts> count_jobs(Db &db, int64_t failed_within_sec);

enum class RetryOutcome {
    made_ready,       // was waiting for a retry: ready now
    requeued,         // failed without a stored tx: queued again with its record
    not_found,
    busy,             // a worker holds it now
    already_ready,    // neither waiting nor failed: nothing to do
    done,             // finished: nothing to retry
    has_tx,           // failed with a stored transaction: refused
    not_requeueable,  // failed transfer / maintenance / anchor job: refused
    uid_taken,        // the registration's uid is registered or pending again
};
std::string_view retry_outcome_text(RetryOutcome o) noexcept;

Result<RetryOutcome> retry_job_now(Db &db, uint64_t id, int64_t now_ms);

}  // namespace pp::store

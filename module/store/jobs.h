// SPDX-License-Identifier: MIT
// Job claiming and step bookkeeping for patchproof-worker (DESIGN.md §1, §4).
// Any number of workers on any host share the jobs table: a claim is
// SELECT … FOR UPDATE SKIP LOCKED plus a lease (lease_owner, lease_until_ms)
// written in the same transaction; every later write is guarded by the
// job's version, so a worker whose lease was taken over can write nothing.
//
// advance_job / retry_job / defer_job are single statements: alone they
// autocommit, inside a caller's store::with_txn they are part of it.
// claim_job runs its own with_txn (re-run whole on a deadlock).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/db.h"

namespace pp::store {

// The stored steps of a job, in order (jobs.step).
enum class JobStep { queued, inputs_locked, signed_tx, broadcast, done, failed };

// The one text mapping of JobStep (the jobs.step column and logs).
std::string_view job_step_text(JobStep s) noexcept;
// nullopt for a text that is no step.
std::optional<JobStep> job_step_from_text(std::string_view text) noexcept;

// What a job's transaction does (jobs.kind). Only record jobs have a pending
// record; the others carry their plan in jobs.payload (compact JSON):
//   sweep   {}                                 inputs locked when written; one change output
//   split   {"outputs":N,"satoshis":S}         input locked when written; N outputs of S
//   anchor  {"batchId":B,"merkleRoot":"hex"}   OP_FALSE OP_RETURN "PatchProofBatch" <root>
enum class JobKind { record, sweep, split, anchor };

// The one text mapping of JobKind (the jobs.kind column, CLI and JSON).
std::string_view job_kind_text(JobKind k) noexcept;
std::optional<JobKind> job_kind_from_text(std::string_view text) noexcept;

struct Job {
    uint64_t id = 0;
    JobKind job_kind = JobKind::record;
    std::string payload;     // non-record jobs: the plan, as above
    std::string pending_id;  // record jobs only
    JobStep step = JobStep::queued;
    uint32_t attempts = 0;
    std::optional<std::string> raw_tx, txid;
    uint64_t version = 0;
    // From the pending record:
    std::string kind, uid_tag_id, record;
    std::optional<std::string> prev_txid, claim_intent_id;
};

// A maintenance or anchor job, queued. Meant for the caller's store::with_txn
// that also locks its inputs or writes its batch; invalid_argument for
// JobKind::record (those are written with their pending record).
Result<uint64_t> insert_job(Db &db, JobKind kind, std::string_view payload);

// Where a job stands, for admin runs waiting on the worker.
struct JobStatus {
    uint64_t id = 0;
    JobKind kind = JobKind::record;
    JobStep step = JobStep::queued;
    std::optional<std::string> txid, last_error;
};
// nullopt when there is no such job.
Result<std::optional<JobStatus>> job_status(Db &db, uint64_t id);
// Jobs of `kind` that are neither done nor failed.
Result<uint64_t> unfinished_jobs(Db &db, JobKind kind);

// The oldest ready job (not done/failed, next_attempt_ms <= now, lease
// expired), leased to `owner` for lease_ms; nullopt when there is none.
Result<std::optional<Job>> claim_job(Db &db, std::string_view owner, int64_t now_ms, int64_t lease_ms);

// Moves the job to `step`, storing raw_tx/txid when given, extending the lease.
// conflict when the job's version moved (the lease was lost).
Result<void> advance_job(Db &db, Job &job, JobStep step, const std::optional<std::string> &raw_tx,
                         const std::optional<std::string> &txid, int64_t lease_until_ms);
// Keeps the step, counts an attempt, releases the lease until next_attempt_ms.
Result<void> retry_job(Db &db, Job &job, std::string_view error, int64_t next_attempt_ms);
// Releases the lease without counting an attempt (e.g. no UTXO free yet).
Result<void> defer_job(Db &db, Job &job, int64_t next_attempt_ms);

}  // namespace pp::store

// SPDX-License-Identifier: MIT
#include "store/jobs.h"

#include <array>
#include <utility>

#include "store/row.h"
#include "store/txn.h"

namespace pp::store {

namespace {

constexpr std::array<std::pair<JobStep, std::string_view>, 6> kStepText{{
    {JobStep::queued, "queued"},
    {JobStep::inputs_locked, "inputs_locked"},
    {JobStep::signed_tx, "signed"},
    {JobStep::broadcast, "broadcast"},
    {JobStep::done, "done"},
    {JobStep::failed, "failed"},
}};

constexpr std::array<std::pair<JobKind, std::string_view>, 4> kKindText{{
    {JobKind::record, "record"},
    {JobKind::sweep, "sweep"},
    {JobKind::split, "split"},
    {JobKind::anchor, "anchor"},
}};

Param opt_param(const std::optional<std::string> &v)
{
    return v ? Param(std::string_view(*v)) : Param(nullptr);
}

int64_t i64(uint64_t v) noexcept { return static_cast<int64_t>(v); }

// One version-guarded UPDATE; 0 rows matched means another worker took the
// job over (its claim bumped the version), so we must stop writing.
Result<void> guarded(Result<uint64_t> affected)
{
    if (!affected)
        return affected.error();
    if (*affected == 0)
        return Errc::conflict;
    return {};
}

Result<Job> job_from_row(const Row &r)
{
    Job job;
    auto id = col_int<uint64_t>(r, 0);
    auto attempts = col_int<uint32_t>(r, 3);
    auto version = col_int<uint64_t>(r, 6);
    if (!id || !attempts || !version || r.size() != 9 || !r[2] || !r[7])
        return Errc::internal;
    auto step = job_step_from_text(*r[2]);
    auto kind = job_kind_from_text(*r[7]);
    if (!step || !kind)
        return Errc::internal;
    // Only a record job has a pending record. A missing plan is not an
    // error here: the worker fails that one job, the queue moves on.
    if (*kind == JobKind::record && !r[1])
        return Errc::internal;
    job.id = *id;
    job.job_kind = *kind;
    job.pending_id = r[1].value_or("");
    job.payload = r[8].value_or("");
    job.step = *step;
    job.attempts = *attempts;
    job.raw_tx = r[4];
    job.txid = r[5];
    job.version = *version;
    return job;
}

// Runs inside claim_job's transaction; locks the job row, then leases it.
Result<std::optional<Job>> lock_and_lease(Db &db, std::string_view owner, int64_t now_ms, int64_t lease_ms)
{
    auto rows = db.query(
        "SELECT j.id, j.pending_id, j.step, j.attempts, j.raw_tx, j.txid, j.version, j.kind, j.payload FROM jobs j "
        "WHERE j.step NOT IN (?, ?) AND j.next_attempt_ms <= ? AND j.lease_until_ms < ? "
        "ORDER BY j.id LIMIT 1 FOR UPDATE SKIP LOCKED",
        {job_step_text(JobStep::done), job_step_text(JobStep::failed), now_ms, now_ms});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<Job>();
    auto job = job_from_row((*rows)[0]);
    if (!job)
        return job.error();

    auto leased = guarded(db.execute(
        "UPDATE jobs SET lease_owner = ?, lease_until_ms = ?, version = version + 1 WHERE id = ? AND version = ?",
        {owner, now_ms + lease_ms, i64(job->id), i64(job->version)}));
    if (!leased)
        return leased.error();
    ++job->version;
    if (job->job_kind != JobKind::record)
        return std::optional<Job>(std::move(*job));

    // A plain read: the pending record is immutable apart from its status,
    // so there is no need to lock it (the API may be updating its status).
    auto pending = db.query(
        "SELECT kind, uid_tag_id, record, prev_txid, claim_intent_id FROM pending_records WHERE id = ?",
        {std::string_view(job->pending_id)});
    if (!pending)
        return pending.error();
    if (pending->empty() || (*pending)[0].size() != 5)
        return Errc::internal;  // enqueue writes both in one transaction
    const Row &p = (*pending)[0];
    job->kind = p[0].value_or("");
    job->uid_tag_id = p[1].value_or("");
    job->record = p[2].value_or("");
    job->prev_txid = p[3];
    job->claim_intent_id = p[4];
    return std::optional<Job>(std::move(*job));
}

}  // namespace

std::string_view job_step_text(JobStep s) noexcept
{
    for (const auto &[step, text] : kStepText)
        if (step == s)
            return text;
    return "unknown";
}

std::optional<JobStep> job_step_from_text(std::string_view text) noexcept
{
    for (const auto &[step, t] : kStepText)
        if (t == text)
            return step;
    return std::nullopt;
}

std::string_view job_kind_text(JobKind k) noexcept
{
    for (const auto &[kind, text] : kKindText)
        if (kind == k)
            return text;
    return "unknown";
}

std::optional<JobKind> job_kind_from_text(std::string_view text) noexcept
{
    for (const auto &[kind, t] : kKindText)
        if (t == text)
            return kind;
    return std::nullopt;
}

Result<uint64_t> insert_job(Db &db, JobKind kind, std::string_view payload)
{
    if (kind == JobKind::record)
        return Errc::invalid_argument;
    auto n = db.execute("INSERT INTO jobs (kind, payload) VALUES (?, ?)", {job_kind_text(kind), payload});
    if (!n)
        return n.error();
    return db.last_insert_id();
}

Result<std::optional<JobStatus>> job_status(Db &db, uint64_t id)
{
    auto rows = db.query("SELECT kind, step, txid, last_error FROM jobs WHERE id = ?", {i64(id)});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<JobStatus>();
    const Row &r = (*rows)[0];
    if (r.size() != 4 || !r[0] || !r[1])
        return Errc::internal;
    auto kind = job_kind_from_text(*r[0]);
    auto step = job_step_from_text(*r[1]);
    if (!kind || !step)
        return Errc::internal;
    return std::optional<JobStatus>(JobStatus{id, *kind, *step, r[2], r[3]});
}

Result<uint64_t> unfinished_jobs(Db &db, JobKind kind)
{
    auto rows = db.query("SELECT COUNT(*) FROM jobs WHERE kind = ? AND step NOT IN (?, ?)",
                         {job_kind_text(kind), job_step_text(JobStep::done), job_step_text(JobStep::failed)});
    if (!rows)
        return rows.error();
    if (rows->size() != 1)
        return Errc::internal;
    return col_int<uint64_t>((*rows)[0], 0);
}

Result<std::optional<Job>> claim_job(Db &db, std::string_view owner, int64_t now_ms, int64_t lease_ms)
{
    if (owner.empty() || lease_ms <= 0)
        return Errc::invalid_argument;
    return with_txn(db, [&](Txn &t) { return lock_and_lease(t.db(), owner, now_ms, lease_ms); });
}

Result<void> advance_job(Db &db, Job &job, JobStep step, const std::optional<std::string> &raw_tx,
                         const std::optional<std::string> &txid, int64_t lease_until_ms)
{
    // COALESCE: a later step passes nullopt and must not erase the stored
    // transaction that a resumed worker re-broadcasts.
    auto r = guarded(db.execute(
        "UPDATE jobs SET step = ?, raw_tx = COALESCE(?, raw_tx), txid = COALESCE(?, txid), lease_until_ms = ?, "
        "version = version + 1 WHERE id = ? AND version = ?",
        {job_step_text(step), opt_param(raw_tx), opt_param(txid), lease_until_ms, i64(job.id), i64(job.version)}));
    if (!r)
        return r;
    ++job.version;
    job.step = step;
    if (raw_tx)
        job.raw_tx = raw_tx;
    if (txid)
        job.txid = txid;
    return {};
}

Result<void> retry_job(Db &db, Job &job, std::string_view error, int64_t next_attempt_ms)
{
    // last_error is VARCHAR(255); callers pass short fixed texts, but never
    // let a long one turn a retry into a data-too-long failure.
    const std::string_view reason = error.substr(0, 255);
    auto r = guarded(db.execute(
        "UPDATE jobs SET attempts = attempts + 1, last_error = ?, next_attempt_ms = ?, lease_owner = NULL, "
        "lease_until_ms = 0, version = version + 1 WHERE id = ? AND version = ?",
        {reason, next_attempt_ms, i64(job.id), i64(job.version)}));
    if (!r)
        return r;
    ++job.version;
    ++job.attempts;
    return {};
}

Result<void> defer_job(Db &db, Job &job, int64_t next_attempt_ms)
{
    auto r = guarded(db.execute(
        "UPDATE jobs SET next_attempt_ms = ?, lease_owner = NULL, lease_until_ms = 0, version = version + 1 "
        "WHERE id = ? AND version = ?",
        {next_attempt_ms, i64(job.id), i64(job.version)}));
    if (!r)
        return r;
    ++job.version;
    return {};
}

}  // namespace pp::store

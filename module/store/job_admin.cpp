// SPDX-License-Identifier: MIT
#include "store/job_admin.h"

#include <array>
#include <utility>

#include "store/patches.h"
#include "store/row.h"
#include "store/txn.h"

namespace pp::store {
namespace {

constexpr const char *kCols = "id, kind, step, attempts, next_attempt_ms, lease_until_ms, pending_id, txid, "
                              "last_error, payload, CAST(UNIX_TIMESTAMP(created_at) * 1000 AS SIGNED), "
                              "CAST(UNIX_TIMESTAMP(updated_at) * 1000 AS SIGNED), version";

int64_t i64(uint64_t v) noexcept { return static_cast<int64_t>(v); }

Result<JobRow> to_row(const Row &r)
{
    auto id = col_int<uint64_t>(r, 0);
    auto attempts = col_int<uint32_t>(r, 3);
    auto next = col_int<int64_t>(r, 4);
    auto lease = col_int<int64_t>(r, 5);
    auto created = col_int<int64_t>(r, 10);
    auto updated = col_int<int64_t>(r, 11);
    auto version = col_int<uint64_t>(r, 12);
    if (r.size() != 13 || !id || !r[1] || !r[2] || !attempts || !next || !lease || !created || !updated ||
        !version)
        return Errc::internal;
    auto kind = job_kind_from_text(*r[1]);
    auto step = job_step_from_text(*r[2]);
    if (!kind || !step)
        return Errc::internal;
    JobRow j;
    j.id = *id;
    j.kind = *kind;
    j.step = *step;
    j.attempts = *attempts;
    j.next_attempt_ms = *next;
    j.lease_until_ms = *lease;
    j.pending_id = r[6];
    j.txid = r[7];
    j.last_error = r[8];
    j.payload = r[9];
    j.created_ms = *created;
    j.updated_ms = *updated;
    j.version = *version;
    return j;
}

Result<std::vector<JobRow>> to_rows(Result<std::vector<Row>> rows)
{
    if (!rows)
        return rows.error();
    std::vector<JobRow> out;
    out.reserve(rows->size());
    for (const Row &r : *rows) {
        auto j = to_row(r);
        if (!j)
            return j.error();
        out.push_back(std::move(*j));
    }
    return out;
}

// A failed registration job without a stored transaction, back to the
// queue with its pending record; inside retry's transaction.
Result<RetryOutcome> requeue_failed(Db &db, const JobRow &j)
{
    if (j.kind != JobKind::record || !j.pending_id)
        return RetryOutcome::not_requeueable;
    auto p = db.query("SELECT kind, uid_tag_id FROM pending_records WHERE id = ? FOR UPDATE",
                      {std::string_view(*j.pending_id)});
    if (!p)
        return p.error();
    if (p->size() != 1 || (*p)[0].size() != 2 || !(*p)[0][0] || !(*p)[0][1])
        return Errc::internal;
    if (*(*p)[0][0] != "registration")
        return RetryOutcome::not_requeueable;
    auto reg = patch_registered_locked(db, *(*p)[0][1]);
    if (!reg)
        return reg.error();
    if (*reg)
        return RetryOutcome::uid_taken;
    // Back to pending: the unique reg_lock refuses it (conflict) while
    // another registration of the uid is pending.
    auto up = db.execute("UPDATE pending_records SET status = 'pending', error = NULL, txid = NULL "
                         "WHERE id = ? AND status = 'failed'",
                         {std::string_view(*j.pending_id)});
    if (!up)
        return up.error() == Errc::conflict ? Result<RetryOutcome>(RetryOutcome::uid_taken)
                                            : Result<RetryOutcome>(up.error());
    if (*up != 1)
        return Errc::internal;  // a failed job's record is failed: both rows are locked
    auto n = db.execute("UPDATE jobs SET step = ?, attempts = 0, last_error = NULL, next_attempt_ms = 0, "
                        "lease_owner = NULL, lease_until_ms = 0, version = version + 1 "
                        "WHERE id = ? AND version = ? AND step = ? AND txid IS NULL",
                        {job_step_text(JobStep::queued), i64(j.id), i64(j.version), job_step_text(JobStep::failed)});
    if (!n)
        return n.error();
    if (*n != 1)
        return Errc::internal;
    return RetryOutcome::requeued;
}

// Inside retry's transaction: the job row locked, its fate decided.
Result<RetryOutcome> retry_locked(Db &db, uint64_t id, int64_t now_ms)
{
    auto rows = to_rows(db.query(std::string("SELECT ") + kCols + " FROM jobs WHERE id = ? FOR UPDATE", {i64(id)}));
    if (!rows)
        return rows.error();
    if (rows->empty())
        return RetryOutcome::not_found;
    const JobRow &j = rows->front();
    if (j.step == JobStep::done)
        return RetryOutcome::done;
    if (j.step == JobStep::failed)
        return j.txid ? RetryOutcome::has_tx : requeue_failed(db, j);
    if (j.lease_until_ms >= now_ms)
        return RetryOutcome::busy;
    if (j.next_attempt_ms <= now_ms)
        return RetryOutcome::already_ready;
    auto n = db.execute("UPDATE jobs SET next_attempt_ms = 0, version = version + 1 WHERE id = ? AND version = ?",
                        {i64(j.id), i64(j.version)});
    if (!n)
        return n.error();
    if (*n != 1)
        return Errc::internal;  // the row is locked by us
    return RetryOutcome::made_ready;
}

}  // namespace

std::string_view retry_outcome_text(RetryOutcome o) noexcept
{
    switch (o) {
    case RetryOutcome::made_ready: return "made_ready";
    case RetryOutcome::requeued: return "requeued";
    case RetryOutcome::not_found: return "not_found";
    case RetryOutcome::busy: return "busy";
    case RetryOutcome::already_ready: return "already_ready";
    case RetryOutcome::done: return "done";
    case RetryOutcome::has_tx: return "has_tx";
    case RetryOutcome::not_requeueable: return "not_requeueable";
    case RetryOutcome::uid_taken: return "uid_taken";
    }
    return "unknown";
}

Result<std::vector<JobRow>> list_jobs(Db &db, std::optional<JobStep> step, int64_t limit)
{
    if (limit < 1)
        return Errc::invalid_argument;
    if (step)
        return to_rows(db.query(std::string("SELECT ") + kCols + " FROM jobs WHERE step = ? ORDER BY id DESC LIMIT ?",
                                {job_step_text(*step), limit}));
    return to_rows(db.query(std::string("SELECT ") + kCols + " FROM jobs ORDER BY id DESC LIMIT ?", {limit}));
}

Result<std::optional<JobRow>> get_job(Db &db, uint64_t id)
{
    auto rows = to_rows(db.query(std::string("SELECT ") + kCols + " FROM jobs WHERE id = ?", {i64(id)}));
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<JobRow>();
    return std::optional<JobRow>(std::move(rows->front()));
}

Result<JobCounts> count_jobs(Db &db, int64_t failed_within_sec)
{
    auto rows = db.query("SELECT step, COUNT(*) FROM jobs GROUP BY step");
    if (!rows)
        return rows.error();
    JobCounts c;
    for (const Row &r : *rows) {
        auto n = col_int<uint64_t>(r, 1);
        if (r.size() != 2 || !r[0] || !n)
            return Errc::internal;
        auto step = job_step_from_text(*r[0]);
        if (!step)
            return Errc::internal;
        c.by_step[static_cast<size_t>(*step)] = *n;
    }
    if (failed_within_sec <= 0) {
        c.failed_recent = c.by_step[static_cast<size_t>(JobStep::failed)];
        return c;
    }
    auto recent = db.query("SELECT COUNT(*) FROM jobs WHERE step = ? AND updated_at >= "
                           "NOW(3) - INTERVAL ? SECOND",
                           {job_step_text(JobStep::failed), failed_within_sec});
    if (!recent)
        return recent.error();
    if (recent->size() != 1)
        return Errc::internal;
    auto n = col_int<uint64_t>((*recent)[0], 0);
    if (!n)
        return n.error();
    c.failed_recent = *n;
    return c;
}

Result<RetryOutcome> retry_job_now(Db &db, uint64_t id, int64_t now_ms)
{
    return with_txn(db, [&](Txn &t) { return retry_locked(t.db(), id, now_ms); });
}

}  // namespace pp::store

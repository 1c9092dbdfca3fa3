// SPDX-License-Identifier: MIT
#include "store/jobs.h"

#include <charconv>

namespace pp::store {

namespace {

bool to_u64(const std::optional<std::string> &text, uint64_t &out)
{
    if (!text)
        return false;
    auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), out);
    return ec == std::errc() && ptr == text->data() + text->size();
}

Param opt_param(const std::optional<std::string> &v)
{
    return v ? Param(std::string_view(*v)) : Param(nullptr);
}

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

// Runs inside claim_job's transaction, after the job row is locked.
Result<std::optional<Job>> lock_and_lease(Db &db, std::string_view owner, int64_t now_ms, int64_t lease_ms)
{
    auto rows = db.query(
        "SELECT j.id, j.pending_id, j.step, j.attempts, j.raw_tx, j.txid, j.version FROM jobs j "
        "WHERE j.step NOT IN ('done','failed') AND j.next_attempt_ms <= ? AND j.lease_until_ms < ? "
        "ORDER BY j.id LIMIT 1 FOR UPDATE SKIP LOCKED",
        {now_ms, now_ms});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<Job>();

    const Row &r = (*rows)[0];
    Job job;
    uint64_t attempts = 0;
    if (!to_u64(r[0], job.id) || !to_u64(r[3], attempts) || !to_u64(r[6], job.version))
        return Errc::internal;
    job.attempts = static_cast<uint32_t>(attempts);
    job.pending_id = r[1].value_or("");
    job.step = r[2].value_or("");
    job.raw_tx = r[4];
    job.txid = r[5];

    auto leased = guarded(db.execute(
        "UPDATE jobs SET lease_owner = ?, lease_until_ms = ?, version = version + 1 WHERE id = ? AND version = ?",
        {owner, now_ms + lease_ms, static_cast<int64_t>(job.id), static_cast<int64_t>(job.version)}));
    if (!leased)
        return leased.error();
    ++job.version;

    // A plain read: the pending record is immutable apart from its status,
    // so there is no need to lock it (the API may be updating its status).
    auto pending = db.query(
        "SELECT kind, uid_tag_id, record, prev_txid, claim_intent_id FROM pending_records WHERE id = ?",
        {std::string_view(job.pending_id)});
    if (!pending)
        return pending.error();
    if (pending->empty())
        return Errc::internal;  // enqueue writes both in one transaction
    const Row &p = (*pending)[0];
    job.kind = p[0].value_or("");
    job.uid_tag_id = p[1].value_or("");
    job.record = p[2].value_or("");
    job.prev_txid = p[3];
    job.claim_intent_id = p[4];
    return std::optional<Job>(std::move(job));
}

}  // namespace

Result<std::optional<Job>> claim_job(Db &db, std::string_view owner, int64_t now_ms, int64_t lease_ms)
{
    if (owner.empty() || lease_ms <= 0)
        return Errc::invalid_argument;
    if (auto b = db.begin(); !b)
        return b.error();
    auto claimed = lock_and_lease(db, owner, now_ms, lease_ms);
    if (!claimed || !claimed->has_value()) {
        // Nothing written (or a failure): just drop the row locks.
        auto rb = db.rollback();
        (void)rb;
        return claimed;
    }
    if (auto c = db.commit(); !c) {
        auto rb = db.rollback();
        (void)rb;
        return c.error();
    }
    return claimed;
}

Result<void> advance_job(Db &db, Job &job, std::string_view step, const std::optional<std::string> &raw_tx,
                         const std::optional<std::string> &txid, int64_t lease_until_ms)
{
    // COALESCE: a later step passes nullopt and must not erase the stored
    // transaction that a resumed worker re-broadcasts.
    auto r = guarded(db.execute(
        "UPDATE jobs SET step = ?, raw_tx = COALESCE(?, raw_tx), txid = COALESCE(?, txid), lease_until_ms = ?, "
        "version = version + 1 WHERE id = ? AND version = ?",
        {step, opt_param(raw_tx), opt_param(txid), lease_until_ms, static_cast<int64_t>(job.id),
         static_cast<int64_t>(job.version)}));
    if (!r)
        return r;
    ++job.version;
    job.step = std::string(step);
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
        {reason, next_attempt_ms, static_cast<int64_t>(job.id), static_cast<int64_t>(job.version)}));
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
        {next_attempt_ms, static_cast<int64_t>(job.id), static_cast<int64_t>(job.version)}));
    if (!r)
        return r;
    ++job.version;
    return {};
}

}  // namespace pp::store

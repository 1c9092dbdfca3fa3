// SPDX-License-Identifier: MIT
#include "store/anchor.h"

#include <initializer_list>
#include <optional>
#include <utility>

#include "store/batches.h"
#include "store/claims.h"
#include "store/patches.h"
#include "store/pending.h"
#include "store/txn.h"
#include "store/utxo_pool.h"

namespace pp::store {

namespace {

// A duplicate key that is not the job row's version guard: the callers see
// conflict only for a lost lease, so anything else unexpected is internal.
Errc not_lease(Errc e) noexcept
{
    return e == Errc::conflict ? Errc::internal : e;
}

// Every status a pending record can have: the final and failure writes
// below set it whatever it was (the job's version guard decides).
constexpr std::initializer_list<PendingStatus> kAnyStatus = {PendingStatus::pending, PendingStatus::anchoring,
                                                             PendingStatus::confirmed, PendingStatus::failed};

// ---- pieces of the final transaction -------------------------------------

// The change output, unless a sync already put this very outpoint in the
// pool (checked: same amount and key, else the pool holds something else
// under our outpoint and that is not harmless).
Result<void> add_change(Db &db, std::string_view txid, const ChangeOutput &c, std::string_view key_id)
{
    UtxoPool pool(db);
    auto a = pool.add(txid, c.vout, c.satoshis, key_id, c.script_hex, "available");
    if (a)
        return {};
    if (a.error() != Errc::conflict)
        return a.error();
    auto held = pool.find(txid, c.vout);
    if (!held)
        return held.error();
    if (!*held || (*held)->satoshis != c.satoshis || (*held)->key_id != key_id)
        return Errc::internal;
    return {};
}

// The job's locked inputs spent by its txid and the outputs paying our
// change script put in the pool: what every final transaction starts with.
Result<void> spend_inputs(Db &db, const Job &job, const std::vector<ChangeOutput> &change, std::string_view key_id)
{
    UtxoPool pool(db);
    if (auto s = pool.mark_spent(job.id, *job.txid); !s)
        return not_lease(s.error());
    for (const ChangeOutput &c : change)
        if (auto r = add_change(db, *job.txid, c, key_id); !r)
            return not_lease(r.error());
    return {};
}

// A registration: the patch state row, or the reason it cannot be written.
Result<std::string> write_registration(Db &db, const Job &job, const Anchor &a)
{
    auto ins = insert_patch_state(db, job.uid_tag_id, *job.txid, job.record, a.record_hash, a.owner_address);
    if (ins)
        return std::string();
    if (ins.error() != Errc::conflict)
        return ins.error();
    // The uid has a state already: ours (harmless) or another record's.
    auto st = lock_patch_state(db, job.uid_tag_id);
    if (!st)
        return st.error();
    if (*st && (*st)->current_txid == *job.txid)
        return std::string();
    return std::string("uid already registered by another record");
}

// A transfer: the state moves to the new record when it still is where the
// transfer started from.
Result<std::string> write_transfer(Db &db, const Job &job, const Anchor &a)
{
    auto st = lock_patch_state(db, job.uid_tag_id);
    if (!st)
        return st.error();
    if (!*st)
        return std::string("patch state missing");
    const PatchState &s = **st;
    if (s.current_txid == *job.txid)
        return std::string();  // written by an earlier run that committed
    if (job.prev_txid && s.current_txid != *job.prev_txid)
        return std::string("patch state changed before the transfer confirmed");
    if (auto up = replace_patch_state(db, s, *job.txid, job.record, a.record_hash, a.owner_address); !up)
        return not_lease(up.error());  // the row is locked FOR UPDATE: it cannot have moved
    return std::string();
}

// The history row; a duplicate is harmless only when it is this very record.
Result<void> add_history(Db &db, const Job &job, const Anchor &a)
{
    auto kind = from_text<PendingKind>(job.kind);
    if (!kind)
        return Errc::internal;  // read from an ENUM column: cannot happen
    auto ins = insert_record(db, RecordRow{*job.txid, job.uid_tag_id, *kind, job.record, a.record_hash, a.now_ms});
    if (ins)
        return {};
    if (ins.error() != Errc::conflict)
        return ins.error();
    auto row = find_record(db, *job.txid);
    if (!row)
        return row.error();
    if (*row && (*row)->uid_tag_id == job.uid_tag_id && (*row)->record_hash == a.record_hash)
        return {};
    return Errc::internal;
}

Result<void> confirm_records(Db &db, const Job &job)
{
    if (job.claim_intent_id) {
        if (auto c = confirm_claim(db, *job.claim_intent_id, *job.txid); !c)
            return c.error();
    }
    if (auto p = set_pending_status(db, job.pending_id, PendingStatus::confirmed, kAnyStatus, job.txid); !p)
        return p.error();
    return {};
}

// ---- pieces of the failure transaction -----------------------------------

// The job row of a failure: the last attempt counted, the reason kept.
Result<void> fail_job_row(Db &db, Job &copy, std::string_view reason, int64_t now_ms)
{
    if (auto r = retry_job(db, copy, reason, now_ms); !r)
        return r;
    return advance_job(db, copy, JobStep::failed, std::nullopt, std::nullopt, 0);
}

// Job, pending record, transfer hold and claim intent of a failure; the
// inputs are the caller's business.
Result<void> fail_rows(Db &db, Job &copy, std::string_view reason, bool on_chain, int64_t now_ms)
{
    if (auto r = fail_job_row(db, copy, reason, now_ms); !r)
        return r;
    // The txid is shown only for a transaction that is on chain.
    const std::optional<std::string> txid = on_chain ? copy.txid : std::nullopt;
    if (auto p = set_pending_status(db, copy.pending_id, PendingStatus::failed, kAnyStatus, txid, std::string(reason));
        !p)
        return not_lease(p.error());
    if (copy.kind == "transfer") {
        if (auto e = clear_pending_transfer(db, copy.uid_tag_id, copy.pending_id); !e)
            return not_lease(e.error());
    }
    if (copy.claim_intent_id) {
        if (auto c = fail_claim(db, *copy.claim_intent_id, reason); !c)
            return not_lease(c.error());
    }
    return {};
}

// Every UTXO the job still holds: back to available when the chain listed
// it as unspent, else quarantined.
Result<void> settle_inputs(Db &db, const Job &job, const Failure &f)
{
    UtxoPool pool(db);
    auto held = pool.locked_by(job.id);
    if (!held)
        return held.error();
    for (const Utxo &u : *held) {
        auto r = f.unspent.count(u.id) ? pool.release(job.id, u.id)
                                       : pool.quarantine(job.id, u.id, "not unspent on chain after: " + f.reason);
        if (!r)
            return not_lease(r.error());
        if (!*r)
            return Errc::internal;  // we read it locked by this job inside this transaction
    }
    return {};
}

Result<AnchorOutcome> confirm_run(Db &db, Job &copy, const Anchor &a)
{
    if (auto r = spend_inputs(db, copy, a.change, a.change_key_id); !r)
        return r.error();

    auto refused = copy.kind == "registration" ? write_registration(db, copy, a) : write_transfer(db, copy, a);
    if (!refused)
        return not_lease(refused.error());
    AnchorOutcome out;
    out.refused = std::move(*refused);
    if (!out.refused.empty()) {
        // The inputs are spent and the change is ours either way; only the
        // state refuses the record.
        if (auto e = fail_rows(db, copy, out.refused, true, a.now_ms); !e)
            return e.error();
        return out;
    }
    if (auto r = add_history(db, copy, a); !r)
        return not_lease(r.error());
    if (auto r = confirm_records(db, copy); !r)
        return not_lease(r.error());
    if (auto r = advance_job(db, copy, JobStep::done, std::nullopt, std::nullopt, 0); !r)
        return r.error();
    return out;
}

Result<MaintenanceOutcome> confirm_maintenance_run(Db &db, Job &copy, const Maintenance &m)
{
    if (auto r = spend_inputs(db, copy, m.outputs, m.change_key_id); !r)
        return r.error();
    MaintenanceOutcome out;
    if (copy.job_kind == JobKind::anchor) {
        auto b = batch_anchored(db, copy.id, *copy.txid);
        if (!b)
            return not_lease(b.error());
        out.batch_missing = !*b;
    }
    if (auto r = advance_job(db, copy, JobStep::done, std::nullopt, std::nullopt, 0); !r)
        return r.error();
    return out;
}

}  // namespace

Result<void> mark_inputs_locked(Db &db, Job &job, int64_t lease_until_ms)
{
    if (job.job_kind != JobKind::record)  // no pending record: one guarded statement
        return advance_job(db, job, JobStep::inputs_locked, std::nullopt, std::nullopt, lease_until_ms);
    Job copy;
    auto r = with_txn(db, [&](Txn &t) -> Result<void> {
        copy = job;
        auto p = set_pending_status(t.db(), copy.pending_id, PendingStatus::anchoring,
                                    {PendingStatus::pending, PendingStatus::anchoring});
        if (!p)
            return not_lease(p.error());
        return advance_job(t.db(), copy, JobStep::inputs_locked, std::nullopt, std::nullopt, lease_until_ms);
    });
    if (r)
        job = std::move(copy);
    return r;
}

Result<void> store_signed(Db &db, Job &job, const std::vector<uint64_t> &input_ids, std::string_view raw_hex,
                          std::string_view txid, int64_t lease_until_ms)
{
    if (input_ids.empty())
        return Errc::invalid_argument;
    Job copy;
    auto r = with_txn(db, [&](Txn &t) -> Result<void> {
        copy = job;
        for (uint64_t id : input_ids) {
            auto rows = t.db().query("SELECT 1 FROM utxos WHERE id = ? AND status = 'locked' AND locked_by = ? "
                                     "FOR UPDATE",
                                     {static_cast<int64_t>(id), static_cast<int64_t>(copy.id)});
            if (!rows)
                return rows.error();
            if (rows->empty())
                return Errc::not_found;
        }
        return advance_job(t.db(), copy, JobStep::signed_tx, std::string(raw_hex), std::string(txid),
                           lease_until_ms);
    });
    if (r)
        job = std::move(copy);
    return r;
}

Result<void> requeue_job(Db &db, Job &job, std::string_view reason, int64_t next_attempt_ms)
{
    Job copy;
    auto r = with_txn(db, [&](Txn &t) -> Result<void> {
        copy = job;
        UtxoPool pool(t.db());
        if (auto u = pool.unlock(copy.id); !u)
            return not_lease(u.error());
        if (auto a = advance_job(t.db(), copy, JobStep::queued, std::nullopt, std::nullopt, 0); !a)
            return a;
        return retry_job(t.db(), copy, reason, next_attempt_ms);
    });
    if (r)
        job = std::move(copy);
    return r;
}

Result<AnchorOutcome> confirm_anchor(Db &db, Job &job, const Anchor &a)
{
    if (!job.txid || job.step != JobStep::broadcast)
        return Errc::invalid_argument;
    Job copy;
    auto r = with_txn(db, [&](Txn &t) -> Result<AnchorOutcome> {
        copy = job;  // every run starts from the job as it was before
        return confirm_run(t.db(), copy, a);
    });
    if (r)
        job = std::move(copy);
    return r;
}

Result<void> fail_anchor(Db &db, Job &job, const Failure &f)
{
    Job copy;
    auto r = with_txn(db, [&](Txn &t) -> Result<void> {
        copy = job;
        if (auto e = fail_rows(t.db(), copy, f.reason, f.on_chain, f.now_ms); !e)
            return e;
        return settle_inputs(t.db(), copy, f);
    });
    if (r)
        job = std::move(copy);
    return r;
}

Result<MaintenanceOutcome> confirm_maintenance(Db &db, Job &job, const Maintenance &m)
{
    if (!job.txid || job.step != JobStep::broadcast || job.job_kind == JobKind::record)
        return Errc::invalid_argument;
    Job copy;
    auto r = with_txn(db, [&](Txn &t) -> Result<MaintenanceOutcome> {
        copy = job;
        return confirm_maintenance_run(t.db(), copy, m);
    });
    if (r)
        job = std::move(copy);
    return r;
}

Result<void> fail_maintenance(Db &db, Job &job, const Failure &f)
{
    if (job.job_kind == JobKind::record)
        return Errc::invalid_argument;
    Job copy;
    auto r = with_txn(db, [&](Txn &t) -> Result<void> {
        copy = job;
        if (auto e = fail_job_row(t.db(), copy, f.reason, f.now_ms); !e)
            return e;
        if (auto e = settle_inputs(t.db(), copy, f); !e)
            return e;
        if (copy.job_kind == JobKind::anchor) {
            // No pending batch (false) is fine: there is nothing left to free.
            if (auto b = batch_failed(t.db(), copy.id); !b)
                return not_lease(b.error());
        }
        return {};
    });
    if (r)
        job = std::move(copy);
    return r;
}

}  // namespace pp::store

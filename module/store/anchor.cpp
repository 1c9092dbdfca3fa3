// SPDX-License-Identifier: MIT
#include "store/anchor.h"

#include <optional>
#include <utility>

#include "store/row.h"
#include "store/txn.h"
#include "store/utxo_pool.h"

namespace pp::store {

namespace {

Param opt_param(const std::optional<std::string> &v)
{
    return v ? Param(std::string_view(*v)) : Param(nullptr);
}

// A duplicate key that is not the job row's version guard: the callers see
// conflict only for a lost lease, so anything else unexpected is internal.
Errc not_lease(Errc e) noexcept
{
    return e == Errc::conflict ? Errc::internal : e;
}

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
    auto rows = db.query("SELECT satoshis, key_id FROM utxos WHERE txid = ? AND vout = ?",
                         {txid, int64_t{c.vout}});
    if (!rows)
        return rows.error();
    if (rows->size() != 1)
        return Errc::internal;
    auto sats = col_int<uint64_t>((*rows)[0], 0);
    if (!sats || *sats != c.satoshis || (*rows)[0][1] != std::optional<std::string>(std::string(key_id)))
        return Errc::internal;
    return {};
}

// A registration: the patch state row, or the reason it cannot be written.
Result<std::string> write_registration(Db &db, const Job &job, const Anchor &a)
{
    const std::string_view txid(*job.txid);
    auto ins = db.execute(
        "INSERT INTO patch_state (uid_tag_id, current_txid, current_record, record_hash, owner_address) "
        "VALUES (?, ?, ?, ?, ?)",
        {std::string_view(job.uid_tag_id), txid, std::string_view(job.record), std::string_view(a.record_hash),
         std::string_view(a.owner_address)});
    if (ins)
        return std::string();
    if (ins.error() != Errc::conflict)
        return ins.error();
    // The uid has a state already: ours (harmless) or another record's.
    auto st = db.query("SELECT current_txid FROM patch_state WHERE uid_tag_id = ? FOR UPDATE",
                       {std::string_view(job.uid_tag_id)});
    if (!st)
        return st.error();
    if (st->size() == 1 && (*st)[0][0] == std::optional<std::string>(*job.txid))
        return std::string();
    return std::string("uid already registered by another record");
}

// A transfer: the state moves to the new record when it still is where the
// transfer started from.
Result<std::string> write_transfer(Db &db, const Job &job, const Anchor &a)
{
    auto st = db.query("SELECT version, current_txid FROM patch_state WHERE uid_tag_id = ? FOR UPDATE",
                       {std::string_view(job.uid_tag_id)});
    if (!st)
        return st.error();
    if (st->empty())
        return std::string("patch state missing");
    if ((*st)[0][1] == job.txid)
        return std::string();  // written by an earlier run that committed
    if (job.prev_txid && (*st)[0][1] != job.prev_txid)
        return std::string("patch state changed before the transfer confirmed");
    auto version = col_int<int64_t>((*st)[0], 0);
    if (!version)
        return version.error();
    auto up = db.execute(
        "UPDATE patch_state SET current_txid = ?, current_record = ?, record_hash = ?, owner_address = ?, "
        "pending_transfer_id = NULL, version = version + 1 WHERE uid_tag_id = ? AND version = ?",
        {std::string_view(*job.txid), std::string_view(job.record), std::string_view(a.record_hash),
         std::string_view(a.owner_address), std::string_view(job.uid_tag_id), *version});
    if (!up)
        return up.error();
    if (*up != 1)
        return Errc::internal;  // the row is locked FOR UPDATE: it cannot have moved
    return std::string();
}

// The history row; a duplicate is harmless only when it is this very record.
Result<void> add_history(Db &db, const Job &job, const Anchor &a)
{
    auto ins = db.execute(
        "INSERT INTO records (txid, uid_tag_id, kind, record, record_hash, confirmed_ms) VALUES (?, ?, ?, ?, ?, ?)",
        {std::string_view(*job.txid), std::string_view(job.uid_tag_id), std::string_view(job.kind),
         std::string_view(job.record), std::string_view(a.record_hash), a.now_ms});
    if (ins)
        return {};
    if (ins.error() != Errc::conflict)
        return ins.error();
    auto rows = db.query("SELECT uid_tag_id, record_hash FROM records WHERE txid = ?", {std::string_view(*job.txid)});
    if (!rows)
        return rows.error();
    if (rows->size() == 1 && (*rows)[0][0] == std::optional<std::string>(job.uid_tag_id) &&
        (*rows)[0][1] == std::optional<std::string>(a.record_hash))
        return {};
    return Errc::internal;
}

Result<void> confirm_records(Db &db, const Job &job)
{
    const std::string_view txid(*job.txid);
    if (job.claim_intent_id) {
        auto c = db.execute(
            "UPDATE claim_intents SET status = 'confirmed', txid = ?, error = NULL, version = version + 1 "
            "WHERE id = ?",
            {txid, std::string_view(*job.claim_intent_id)});
        if (!c)
            return c.error();
    }
    auto p = db.execute("UPDATE pending_records SET status = 'confirmed', txid = ?, error = NULL WHERE id = ?",
                        {txid, std::string_view(job.pending_id)});
    if (!p)
        return p.error();
    return {};
}

// ---- pieces of the failure transaction -----------------------------------

Result<void> clear_pending_transfer(Db &db, const Job &job)
{
    auto st = db.query("SELECT version FROM patch_state WHERE uid_tag_id = ? AND pending_transfer_id = ? FOR UPDATE",
                       {std::string_view(job.uid_tag_id), std::string_view(job.pending_id)});
    if (!st)
        return st.error();
    if (st->empty())
        return {};  // not ours (or already cleared)
    auto version = col_int<int64_t>((*st)[0], 0);
    if (!version)
        return version.error();
    auto u = db.execute(
        "UPDATE patch_state SET pending_transfer_id = NULL, version = version + 1 WHERE uid_tag_id = ? AND version = ?",
        {std::string_view(job.uid_tag_id), *version});
    if (!u)
        return u.error();
    return *u == 1 ? Result<void>() : Result<void>(Errc::internal);
}

// Job, pending record, transfer hold and claim intent of a failure; the
// inputs are the caller's business.
Result<void> fail_rows(Db &db, Job &copy, std::string_view reason, bool on_chain, int64_t now_ms)
{
    // The txid is shown only for a transaction that is on chain.
    const Param txid = on_chain ? opt_param(copy.txid) : Param(nullptr);
    if (auto r = retry_job(db, copy, reason, now_ms); !r)  // counts the last attempt, keeps the reason
        return r;
    if (auto r = advance_job(db, copy, JobStep::failed, std::nullopt, std::nullopt, 0); !r)
        return r;
    auto p = db.execute("UPDATE pending_records SET status = 'failed', error = ?, txid = ? WHERE id = ?",
                        {reason, txid, std::string_view(copy.pending_id)});
    if (!p)
        return not_lease(p.error());
    if (copy.kind == "transfer") {
        if (auto e = clear_pending_transfer(db, copy); !e)
            return not_lease(e.error());
    }
    if (copy.claim_intent_id) {
        auto c = db.execute(
            "UPDATE claim_intents SET status = 'failed', error = ?, version = version + 1 "
            "WHERE id = ? AND status IN ('pending','approved')",
            {reason, std::string_view(*copy.claim_intent_id)});
        if (!c)
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
    UtxoPool pool(db);
    if (auto s = pool.mark_spent(copy.id, *copy.txid); !s)
        return not_lease(s.error());
    for (const ChangeOutput &c : a.change)
        if (auto r = add_change(db, *copy.txid, c, a.change_key_id); !r)
            return not_lease(r.error());

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

}  // namespace

Result<void> mark_inputs_locked(Db &db, Job &job, int64_t lease_until_ms)
{
    Job copy;
    auto r = with_txn(db, [&](Txn &t) -> Result<void> {
        copy = job;
        auto p = t.db().execute(
            "UPDATE pending_records SET status = 'anchoring' WHERE id = ? AND status IN ('pending','anchoring')",
            {std::string_view(copy.pending_id)});
        if (!p)
            return not_lease(p.error());
        return advance_job(t.db(), copy, JobStep::inputs_locked, std::nullopt, std::nullopt, lease_until_ms);
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

}  // namespace pp::store

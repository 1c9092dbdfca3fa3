// SPDX-License-Identifier: MIT
// When a step does not go through: retries with backoff, outages that wait
// without counting, inputs released for a fresh start, and giving up.
#include <algorithm>
#include <map>
#include <utility>

#include "common/json.h"
#include "crypto/encoding.h"
#include "crypto/tx.h"
#include "store/anchor.h"
#include "worker/runner.h"
#include "worker/worker.h"

namespace pp::worker::detail {

// A DB failure in the middle of a step: release the job without counting an
// attempt (an outage is not the job's fault). If even that cannot be
// written, the lease simply expires and a worker picks the job up later.
Next Worker::db_trouble(store::Job &job, Errc e, const char *what)
{
    JsonPtr f(json_pack("{s:I,s:s,s:s,s:i}", "job_id", static_cast<json_int_t>(job.id), "during", what, "error",
                        std::string(errc_name(e)).c_str(), "mysql_errno", static_cast<int>(db_.last_error_number())));
    log::warn("database error during a job step", f.get());
    if (e == Errc::internal)  // not an outage: a statement the server refuses keeps failing
        return attempt_failed(job, "database error");
    store::Job copy = job;
    if (!store::defer_job(db_, copy, now_ms() + backoff_delay_ms(cfg_.job_backoff_ms, 0)))
        return Next::lost;
    job = std::move(copy);
    return Next::yield;
}

Next Worker::write_failed(store::Job &job, Errc e, const char *what)
{
    return e == Errc::conflict ? Next::lost : db_trouble(job, e, what);
}

Next Worker::retry_later(store::Job &job, std::string_view reason)
{
    store::Job copy = job;
    auto r = store::retry_job(db_, copy, reason, now_ms() + backoff_delay_ms(cfg_.job_backoff_ms, job.attempts));
    if (!r)
        return Next::lost;  // lease lost, or the DB is gone: the lease expires either way
    job = std::move(copy);
    log_step(job, "job step will be retried", log::Level::warn, reason);
    return Next::yield;
}

// The KMS or the chain API cannot be reached: like a database outage this is
// not the job's fault, so it waits (backing off up to a few seconds) without
// using up its attempts — an outage of any length loses no registration.
Next Worker::service_outage(store::Job &job, std::string_view reason)
{
    ++outage_streak_;
    store::Job copy = job;
    const int64_t delay = std::min<int64_t>(backoff_delay_ms(cfg_.job_backoff_ms, std::min(outage_streak_, 4u)), 5000);
    auto r = store::defer_job(db_, copy, now_ms() + delay);
    if (!r)
        return Next::lost;
    job = std::move(copy);
    log_step(job, "service unavailable; job waits", log::Level::warn, reason);
    return Next::yield;
}

Next Worker::attempt_failed(store::Job &job, std::string_view reason)
{
    if (static_cast<int64_t>(job.attempts) + 1 >= cfg_.job_max_attempts)
        return give_up(job, reason);
    return retry_later(job, reason);
}

Next Worker::give_up(store::Job &job, std::string_view reason)
{
    if (job.step == store::JobStep::broadcast) {
        // The transaction is on chain: only bookkeeping is left, and
        // dropping it would lose an anchored record. Keep trying.
        log_step(job, "confirmation bookkeeping keeps failing; retrying", log::Level::error, reason);
        return retry_later(job, reason);
    }
    if (job.step == store::JobStep::signed_tx && job.txid) {
        auto known = chain_.tx(*job.txid);
        if (known) {
            store::Job copy = job;
            auto r = store::advance_job(db_, copy, store::JobStep::broadcast, std::nullopt, std::nullopt,
                                        lease_until());
            if (!r)
                return write_failed(job, r.error(), "storing broadcast");
            return stored(job, std::move(copy));
        }
        if (known.error() != Errc::not_found) {
            // Neither "yes" nor "no": the bytes may be in flight, so the
            // record cannot be called failed and the inputs cannot be freed.
            log_step(job, "chain cannot say whether it has the signed tx; keeping it", log::Level::error, reason);
            return retry_later(job, reason);
        }
    }
    return fail_job(job, reason);
}

// The ids of the job's locked UTXOs that the chain lists as unspent at their
// address. One GET address/{addr}/unspent per distinct locking script.
Result<std::set<uint64_t>> Worker::inputs_unspent_on_chain(const store::Job &job)
{
    auto held = pool_.locked_by(job.id);
    if (!held)
        return held.error();
    std::map<std::string, std::vector<const store::Utxo *>> by_script;
    for (const store::Utxo &u : *held)
        by_script[u.script_hex].push_back(&u);
    std::set<uint64_t> out;
    for (const auto &[script_hex, utxos] : by_script) {
        auto script = crypto::hex_decode(script_hex);
        auto pkh = script ? crypto::p2pkh_script_hash(*script) : Result<crypto::Hash160>(Errc::invalid_argument);
        if (!pkh)
            continue;  // not an address we can ask about: never released on trust
        auto listed = chain_.unspent(crypto::p2pkh_address(*pkh, net_));
        if (!listed)
            return listed.error();
        for (const store::Utxo *u : utxos)
            for (const chain::Unspent &l : *listed)
                if (l.txid == u->txid && l.vout == u->vout && l.satoshis == u->satoshis)
                    out.insert(u->id);
    }
    return out;
}

Next Worker::fail_job(store::Job &job, std::string_view reason)
{
    // An input goes back to the pool only when the chain says it is unspent;
    // a refused broadcast may mean it was spent elsewhere.
    auto unspent = inputs_unspent_on_chain(job);
    if (!unspent) {
        if (unspent.error() == Errc::unavailable)
            return service_outage(job, "chain unavailable");
        return retry_later(job, reason);  // never db_trouble here: it could come back to fail_job
    }
    outage_streak_ = 0;
    store::Failure f;
    f.reason = std::string(reason);
    f.unspent = std::move(*unspent);
    f.now_ms = now_ms();
    store::Job copy = job;
    auto failed = job.job_kind == store::JobKind::record ? store::fail_anchor(db_, copy, f)
                                                         : store::fail_maintenance(db_, copy, f);
    if (const auto &r = failed; !r) {
        if (r.error() == Errc::conflict)
            return Next::lost;
        JsonPtr j(json_pack("{s:I,s:s,s:i}", "job_id", static_cast<json_int_t>(job.id), "error",
                            std::string(errc_name(r.error())).c_str(), "mysql_errno",
                            static_cast<int>(db_.last_error_number())));
        log::warn("the failure transaction did not commit", j.get());
        return retry_later(job, reason);
    }
    log_step(copy, "job failed", log::Level::error, reason);
    return stored(job, std::move(copy));
}

// Inputs that no longer pay for the transaction go back to the pool and the
// job starts over; counted as an attempt so a fee that keeps moving cannot
// loop forever. A sweep or split has no other inputs to start over with: it
// fails (its inputs released or quarantined by what the chain lists).
Next Worker::back_to_queued(store::Job &job, std::string_view reason)
{
    if (inputs_planned(job) || static_cast<int64_t>(job.attempts) + 1 >= cfg_.job_max_attempts)
        return fail_job(job, reason);
    store::Job copy = job;
    auto r = store::requeue_job(db_, copy, reason, now_ms() + backoff_delay_ms(cfg_.job_backoff_ms, job.attempts));
    if (!r)
        return write_failed(job, r.error(), "requeueing");
    job = std::move(copy);
    log_step(job, "inputs released; job queued again", log::Level::warn, reason);
    return Next::yield;
}

}  // namespace pp::worker::detail

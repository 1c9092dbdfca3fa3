// SPDX-License-Identifier: MIT
// Step queued → inputs_locked: funding UTXOs locked for the job, the
// pending record marked anchoring.
#include <vector>

#include "chain/txbuilder.h"
#include "store/anchor.h"
#include "worker/runner.h"

namespace pp::worker::detail {

namespace {

constexpr int64_t kNoFundsDelayMs = 2000;  // pool empty: look again soon, no attempt counted

bool covers(const std::vector<store::Utxo> &u, size_t data_script_bytes, uint64_t fee)
{
    uint64_t sum = 0;
    for (const auto &x : u)
        sum += x.satoshis;
    return !u.empty() && sum >= chain::required_funding(chain::TxShape{u.size(), data_script_bytes, 0, true}, 0, fee);
}

}  // namespace

// A record or an anchor: funding UTXOs locked for the job's transaction.
// proceed when they are held, else the job is released (yield / lost).
Next Worker::lock_funding(store::Job &job, size_t data_script_bytes)
{
    const uint64_t fee = fee_per_kb();
    // A worker killed between locking and storing the step left its locks:
    // reuse them when they still cover the transaction.
    auto held = pool_.locked_by(job.id);
    if (!held)
        return db_trouble(job, held.error(), "reading locked utxos");
    if (covers(*held, data_script_bytes, fee))
        return Next::proceed;
    if (!held->empty()) {
        if (auto u = pool_.unlock(job.id); !u)
            return db_trouble(job, u.error(), "unlocking utxos");
    }
    // Several inputs cost more fee than one: raise the target until the
    // chosen set covers its own fee (a few rounds at most).
    uint64_t need = chain::required_funding(chain::TxShape{1, data_script_bytes, 0, true}, 0, fee);
    for (int round = 0; round < 4; ++round) {
        auto locked = pool_.lock_for_job(job.id, need, now_ms());
        if (!locked)
            return db_trouble(job, locked.error(), "locking utxos");
        if (locked->empty())
            break;
        if (covers(*locked, data_script_bytes, fee))
            return Next::proceed;
        need = chain::required_funding(chain::TxShape{locked->size() + 1, data_script_bytes, 0, true}, 0, fee);
        if (auto u = pool_.unlock(job.id); !u)
            return db_trouble(job, u.error(), "unlocking utxos");
    }
    // Not the job's fault: wait for change or a top-up, no attempt counted.
    store::Job copy = job;
    if (auto d = store::defer_job(db_, copy, now_ms() + kNoFundsDelayMs); !d)
        return write_failed(job, d.error(), "deferring");
    job = std::move(copy);
    log_step(job, "no funding utxo free; job deferred", log::Level::warn);
    return Next::yield;
}

Next Worker::step_queued(store::Job &job)
{
    auto params = plan_params(job);
    if (!params)
        return fail_job(job, "the job's plan is malformed");
    if (inputs_planned(job)) {
        // Locked with the job when it was written: nothing to lock here.
        auto held = pool_.locked_by(job.id);
        if (!held)
            return db_trouble(job, held.error(), "reading locked utxos");
        if (held->empty())
            return fail_job(job, "the planned inputs are not locked by the job");
    } else if (Next n = lock_funding(job, chain::data_script_bytes(params->data_pushes)); n != Next::proceed) {
        return n;
    }

    store::Job copy = job;
    if (auto r = store::mark_inputs_locked(db_, copy, lease_until()); !r)
        return write_failed(job, r.error(), "storing inputs_locked");
    return stored(job, std::move(copy));
}

}  // namespace pp::worker::detail

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

bool covers(const std::vector<store::Utxo> &u, size_t data_bytes, uint64_t fee)
{
    uint64_t sum = 0;
    for (const auto &x : u)
        sum += x.satoshis;
    return !u.empty() && sum >= chain::required_funding(data_bytes, u.size(), fee);
}

}  // namespace

Next Worker::step_queued(store::Job &job)
{
    const uint64_t fee = fee_per_kb();
    const size_t data_bytes = job.record.size();

    // A worker killed between locking and storing the step left its locks:
    // reuse them when they still cover the transaction.
    auto held = pool_.locked_by(job.id);
    if (!held)
        return db_trouble(job, held.error(), "reading locked utxos");
    if (!covers(*held, data_bytes, fee)) {
        if (!held->empty()) {
            if (auto u = pool_.unlock(job.id); !u)
                return db_trouble(job, u.error(), "unlocking utxos");
        }
        // Several inputs cost more fee than one: raise the target until the
        // chosen set covers its own fee (a few rounds at most).
        uint64_t need = chain::required_funding(data_bytes, 1, fee);
        bool ok = false;
        for (int round = 0; round < 4 && !ok; ++round) {
            auto locked = pool_.lock_for_job(job.id, need, now_ms());
            if (!locked)
                return db_trouble(job, locked.error(), "locking utxos");
            if (locked->empty())
                break;
            if (covers(*locked, data_bytes, fee)) {
                ok = true;
                break;
            }
            need = chain::required_funding(data_bytes, locked->size() + 1, fee);
            if (auto u = pool_.unlock(job.id); !u)
                return db_trouble(job, u.error(), "unlocking utxos");
        }
        if (!ok) {
            // Not the job's fault: wait for change or a top-up, no attempt counted.
            store::Job copy = job;
            if (auto d = store::defer_job(db_, copy, now_ms() + kNoFundsDelayMs); !d)
                return write_failed(job, d.error(), "deferring");
            job = std::move(copy);
            log_step(job, "no funding utxo free; job deferred", log::Level::warn);
            return Next::yield;
        }
    }

    store::Job copy = job;
    if (auto r = store::mark_inputs_locked(db_, copy, lease_until()); !r)
        return write_failed(job, r.error(), "storing inputs_locked");
    return stored(job, std::move(copy));
}

}  // namespace pp::worker::detail

// SPDX-License-Identifier: MIT
// Internal to patchproof-worker: the job runner, split by step over
//   claim_loop.cpp    claim loop, lease, step dispatch, logs, test hook
//   step_lock.cpp     queued → inputs_locked (funding UTXOs locked)
//   step_sign.cpp     inputs_locked → signed (built, one KMS call, stored)
//   step_send.cpp     signed → broadcast (stored bytes sent, never rebuilt)
//   step_done.cpp     broadcast → done (the final transaction, store/anchor.h)
//   kinds.cpp         per job kind: the planned transaction, the final
//                     transaction of sweep / split / anchor jobs
//   failure.cpp       retries, outages, requeue, give-up and failure
// Every database write goes through module/store; every multi-statement
// write is one store::with_txn there.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "chain/client.h"
#include "chain/txbuilder.h"
#include "common/result.h"
#include "config/config.h"
#include "crypto/base58.h"
#include "crypto/tx.h"
#include "kms/client.h"
#include "log/log.h"
#include "store/db.h"
#include "store/jobs.h"
#include "store/utxo_pool.h"

namespace pp::worker::detail {

// Wall clock, not monotonic: leases are compared by workers on other hosts.
int64_t now_ms();
// Sleeps in short slices so a stop signal is noticed promptly.
void sleep_ms(int64_t ms);

// What a step leaves behind for the job loop.
enum class Next {
    proceed,  // a new step is stored: run it
    yield,    // the job is released (deferred, retried, done or failed)
    lost,     // we may no longer write this job (lease lost, or the DB is gone)
};

class Worker {
public:
    Worker(const config::Config &cfg, std::string id, std::optional<store::JobStep> crash_step, store::Db db,
           kms::Client kms, chain::Client chain, Bytes change_script, crypto::Network net)
        : cfg_(cfg), id_(std::move(id)), crash_step_(std::move(crash_step)), db_(std::move(db)), pool_(db_),
          kms_(std::move(kms)), chain_(std::move(chain)), change_script_(std::move(change_script)), net_(net)
    {
    }

    int loop(bool once);

private:
    // claim_loop.cpp
    void run_job(store::Job &job);
    Next run_step(store::Job &job);
    Next keep_lease(store::Job &job);
    Next stored(store::Job &job, store::Job &&updated);
    void maybe_reap();
    // mailer.cpp: sends the email outbox when a row is due.
    void maybe_send_mail();
    uint64_t fee_per_kb();
    int64_t lease_until() const { return now_ms() + cfg_.job_lease_sec * 1000; }
    void log_step(const store::Job &job, std::string_view msg, log::Level level = log::Level::info,
                  std::string_view reason = {}) const;
    void crash_hook(store::JobStep step) const;

    // The four steps
    Next step_queued(store::Job &job);
    Next lock_funding(store::Job &job, size_t data_script_bytes);
    Next step_inputs_locked(store::Job &job);
    Next step_signed(store::Job &job);
    Next step_broadcast(store::Job &job);

    // kinds.cpp
    // Sweep and split jobs come with their inputs locked (the plan); the
    // worker locks a record's or an anchor's inputs itself.
    static bool inputs_planned(const store::Job &job);
    // Outputs and data of the job's transaction (no inputs, fee set later);
    // invalid_argument for a malformed plan.
    Result<chain::BuildParams> plan_params(const store::Job &job);
    Next confirm_planned(store::Job &job, const crypto::Tx &tx);

    // failure.cpp
    Next attempt_failed(store::Job &job, std::string_view reason);
    Next give_up(store::Job &job, std::string_view reason);
    Next fail_job(store::Job &job, std::string_view reason);
    Next back_to_queued(store::Job &job, std::string_view reason);
    Next retry_later(store::Job &job, std::string_view reason);
    Next service_outage(store::Job &job, std::string_view reason);
    Next db_trouble(store::Job &job, Errc e, const char *what);
    // A store write's error: conflict is a lost lease, anything else trouble.
    Next write_failed(store::Job &job, Errc e, const char *what);
    Result<std::set<uint64_t>> inputs_unspent_on_chain(const store::Job &job);

    const config::Config &cfg_;
    std::string id_;
    std::optional<store::JobStep> crash_step_;
    store::Db db_;
    store::UtxoPool pool_;
    kms::Client kms_;
    chain::Client chain_;
    Bytes change_script_;
    crypto::Network net_;
    uint32_t outage_streak_ = 0;  // consecutive KMS/chain outages, for the wait
    int64_t lease_until_ms_ = 0;  // of the job being run, as we last stored it
    int64_t next_reap_ms_ = 0;
};

}  // namespace pp::worker::detail

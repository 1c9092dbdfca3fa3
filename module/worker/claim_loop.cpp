// SPDX-License-Identifier: MIT
// The claim loop: lease a job, run its steps until it yields or is lost.
#include <signal.h>

#include <algorithm>
#include <ctime>
#include <utility>

#include "common/clock.h"
#include "common/json.h"
#include "store/settings.h"
#include "worker/runner.h"
#include "worker/worker.h"

namespace pp::worker::detail {

namespace {
constexpr int64_t kReapEveryMs = 5000;
constexpr int64_t kDbDownMaxSleepMs = 5000;  // ceiling of the claim-loop backoff
}  // namespace

int64_t now_ms() { return wall_ms(); }

void sleep_ms(int64_t ms)
{
    const int64_t until = now_ms() + ms;
    while (!stop_requested()) {
        const int64_t left = until - now_ms();
        if (left <= 0)
            return;
        const int64_t slice = std::min<int64_t>(left, 100);
        timespec ts{static_cast<time_t>(slice / 1000), static_cast<long>((slice % 1000) * 1'000'000)};
        nanosleep(&ts, nullptr);
    }
}

void Worker::log_step(const store::Job &job, std::string_view msg, log::Level level, std::string_view reason) const
{
    const std::string_view step = store::job_step_text(job.step);
    JsonPtr f(json_object());
    json_object_set_new(f.get(), "job_id", json_integer(static_cast<json_int_t>(job.id)));
    const std::string_view kind = store::job_kind_text(job.job_kind);
    json_object_set_new(f.get(), "kind", json_stringn(kind.data(), kind.size()));
    if (job.job_kind == store::JobKind::record)
        json_object_set_new(f.get(), "pending_id", json_stringn(job.pending_id.data(), job.pending_id.size()));
    json_object_set_new(f.get(), "step", json_stringn(step.data(), step.size()));
    json_object_set_new(f.get(), "attempts", json_integer(job.attempts));
    json_object_set_new(f.get(), "worker", json_stringn(id_.data(), id_.size()));
    if (job.txid)
        json_object_set_new(f.get(), "txid", json_stringn(job.txid->data(), job.txid->size()));
    if (!reason.empty())
        json_object_set_new(f.get(), "reason", json_stringn(reason.data(), reason.size()));
    log::emit(level, msg, f.get());
}

void Worker::crash_hook(store::JobStep step) const
{
    if (!crash_step_ || *crash_step_ != step)
        return;
    const std::string_view text = store::job_step_text(step);
    JsonPtr f(json_pack("{s:s%}", "step", text.data(), text.size()));
    log::warn("test hook: SIGKILL after stored step", f.get());
    raise(SIGKILL);
}

uint64_t Worker::fee_per_kb()
{
    // A settings row that is not a fee (invalid_argument) falls back to
    // the environment, like an unset one.
    auto fee = store::fee_per_kb_setting(db_);
    if (fee && *fee)
        return **fee;
    return static_cast<uint64_t>(cfg_.fee_per_kb);
}

void Worker::maybe_reap()
{
    const int64_t now = now_ms();
    if (now < next_reap_ms_)
        return;
    next_reap_ms_ = now + kReapEveryMs;
    auto freed = pool_.reap(now - cfg_.utxo_lock_timeout_min * 60'000, now);
    if (freed && *freed > 0) {
        JsonPtr f(json_pack("{s:I}", "freed", static_cast<json_int_t>(*freed)));
        log::warn("reaped stale utxo locks", f.get());
    }
}

// Takes over a job copy that the caller's transaction just committed.
Next Worker::stored(store::Job &job, store::Job &&updated)
{
    job = std::move(updated);
    lease_until_ms_ = lease_until();
    log_step(job, "job step stored");
    crash_hook(job.step);
    return (job.step == store::JobStep::done || job.step == store::JobStep::failed) ? Next::yield : Next::proceed;
}

// Extends the lease before a step that talks to the KMS or the chain, when
// less than half of it is left.
Next Worker::keep_lease(store::Job &job)
{
    const int64_t half = cfg_.job_lease_sec * 500;
    if (lease_until_ms_ - now_ms() > half)
        return Next::proceed;
    store::Job copy = job;
    auto r = store::advance_job(db_, copy, job.step, std::nullopt, std::nullopt, lease_until());
    if (!r)
        return write_failed(job, r.error(), "renewing the lease");
    job = std::move(copy);
    lease_until_ms_ = lease_until();
    return Next::proceed;
}

Next Worker::run_step(store::Job &job)
{
    using store::JobStep;
    if (job.step == JobStep::queued)
        return step_queued(job);
    if (auto l = keep_lease(job); l != Next::proceed)
        return l;
    switch (job.step) {
    case JobStep::inputs_locked: return step_inputs_locked(job);
    case JobStep::signed_tx: return step_signed(job);
    case JobStep::broadcast: return step_broadcast(job);
    default: return Next::yield;  // done / failed: claim_job never returns them
    }
}

void Worker::run_job(store::Job &job)
{
    lease_until_ms_ = lease_until();
    log_step(job, "job claimed");
    for (;;) {
        Next next = Next::lost;
        try {
            next = run_step(job);
        } catch (...) {
            // Nothing may escape a step; store::Txn has already rolled back.
            log_step(job, "unexpected exception in a job step", log::Level::error);
            try {
                next = attempt_failed(job, "internal error");
            } catch (...) {
                next = Next::lost;
            }
        }
        if (next == Next::lost) {
            log_step(job, "job lease lost or database unreachable; leaving it to a later claim", log::Level::warn);
            return;
        }
        if (next == Next::yield)
            return;
        if (stop_requested()) {
            // Finish the current step (done), then hand the job back at once.
            store::Job copy = job;
            if (store::defer_job(db_, copy, now_ms()))
                log_step(copy, "stopping: lease released");
            return;
        }
    }
}

int Worker::loop(bool once)
{
    int64_t down_sleep = cfg_.worker_poll_ms;
    while (!stop_requested()) {
        maybe_reap();
        maybe_send_mail();
        auto claimed = store::claim_job(db_, id_, now_ms(), cfg_.job_lease_sec * 1000);
        if (!claimed) {
            JsonPtr f(json_pack("{s:s,s:i,s:I}", "error", std::string(errc_name(claimed.error())).c_str(),
                                "mysql_errno", static_cast<int>(db_.last_error_number()), "retry_ms",
                                static_cast<json_int_t>(down_sleep)));
            log::warn("cannot claim a job; backing off", f.get());
            sleep_ms(down_sleep);
            down_sleep = std::min<int64_t>(down_sleep * 2, kDbDownMaxSleepMs);
            continue;
        }
        down_sleep = cfg_.worker_poll_ms;
        if (!claimed->has_value()) {
            if (once)
                break;
            sleep_ms(cfg_.worker_poll_ms);
            continue;
        }
        store::Job job = std::move(**claimed);
        run_job(job);
    }
    JsonPtr f(json_pack("{s:s}", "worker", id_.c_str()));
    log::info("patchproof-worker stopped", f.get());
    return 0;
}

}  // namespace pp::worker::detail

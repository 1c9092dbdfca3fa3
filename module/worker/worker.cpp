// SPDX-License-Identifier: MIT
#include "worker/worker.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <span>
#include <ctime>
#include <utility>
#include <vector>

#include "chain/client.h"
#include "chain/txbuilder.h"
#include "common/json.h"
#include "crypto/base58.h"
#include "crypto/canonical_json.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/tx.h"
#include "kms/client.h"
#include "log/log.h"
#include "store/db.h"
#include "store/jobs.h"
#include "store/utxo_pool.h"

namespace pp::worker {

namespace {

volatile sig_atomic_t g_stop = 0;

void on_stop_signal(int) { g_stop = 1; }

constexpr int64_t kReapEveryMs = 5000;
constexpr int64_t kNoFundsDelayMs = 2000;     // pool empty: look again soon, no attempt counted
constexpr int64_t kDbDownMaxSleepMs = 5000;   // ceiling of the claim-loop backoff
constexpr int64_t kMaxBackoffMs = 3'600'000;

int64_t now_ms()
{
    // Wall clock, not monotonic: leases are compared by workers on other hosts.
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Sleeps in short slices so a stop signal is noticed promptly.
void sleep_ms(int64_t ms)
{
    const int64_t until = now_ms() + ms;
    while (!g_stop) {
        const int64_t left = until - now_ms();
        if (left <= 0)
            return;
        const int64_t slice = std::min<int64_t>(left, 100);
        timespec ts{static_cast<time_t>(slice / 1000), static_cast<long>((slice % 1000) * 1'000'000)};
        nanosleep(&ts, nullptr);
    }
}

std::string default_id()
{
    char host[256] = {0};
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    std::string id = std::string(host[0] ? host : "worker") + ":" + std::to_string(getpid());
    if (id.size() > 128)
        id.erase(0, id.size() - 128);
    return id;
}

// Rolls back unless committed, on every path (errors and exceptions included).
class Txn {
public:
    explicit Txn(store::Db &db) : db_(db) {}
    Txn(const Txn &) = delete;
    Txn &operator=(const Txn &) = delete;
    ~Txn()
    {
        if (open_) {
            auto r = db_.rollback();
            (void)r;
        }
    }
    Result<void> begin()
    {
        auto r = db_.begin();
        open_ = r.ok();
        return r;
    }
    Result<void> commit()
    {
        auto r = db_.commit();
        if (r)
            open_ = false;
        return r;
    }

private:
    store::Db &db_;
    bool open_ = false;
};

// What a step leaves behind for the job loop.
enum class Next {
    proceed,  // a new step is stored: run it
    yield,    // the job is released (deferred, retried, done or failed)
    lost,     // we may no longer write this job (lease lost, or the DB is gone)
};

// A failing statement inside a step's transaction; carries the Errc out.
struct StepError {
    Errc errc;
    const char *what;       // fixed text for the log
    bool job_row = false;   // from a version-guarded jobs write: conflict = lease lost
};

}  // namespace

Result<std::optional<std::string>> crash_step_from_env(config::Env env, const char *value)
{
    if (env != config::Env::test || value == nullptr || *value == '\0')
        return std::optional<std::string>();
    const std::string_view v(value);
    for (std::string_view s : kCrashSteps)
        if (v == s)
            return std::optional<std::string>(std::string(v));
    return Errc::invalid_argument;
}

int64_t backoff_delay_ms(int64_t base_ms, uint32_t attempts) noexcept
{
    const uint32_t shift = std::min<uint32_t>(attempts, 20);
    const int64_t base = std::clamp<int64_t>(base_ms, 1, kMaxBackoffMs);
    // base <= 3.6e6 and 2^20 ~ 1e6: the product fits in int64_t.
    return std::min<int64_t>(base << shift, kMaxBackoffMs);
}

Result<std::string> record_hash_hex(std::string_view record_json)
{
    json_error_t err;
    JsonPtr root(json_loadb(record_json.data(), record_json.size(), JSON_REJECT_DUPLICATES, &err));
    if (!root || !json_is_object(root.get()))
        return Errc::bad_json;
    auto canon = crypto::canonical_json(root.get(), crypto::KeyOrder::sorted);
    if (!canon)
        return canon.error();
    return crypto::hex_encode(crypto::sha256(crypto::as_bytes(*canon)));
}

void install_signal_handlers()
{
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a sleep returns early
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    // A dropped HTTP connection must be an error value, not a dead process.
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, nullptr);
}

bool stop_requested() noexcept { return g_stop != 0; }

namespace {

class Worker {
public:
    Worker(const config::Config &cfg, std::string id, std::optional<std::string> crash_step, store::Db db,
           kms::Client kms, chain::Client chain, Bytes change_script)
        : cfg_(cfg), id_(std::move(id)), crash_step_(std::move(crash_step)), db_(std::move(db)),
          pool_(db_), kms_(std::move(kms)), chain_(std::move(chain)), change_script_(std::move(change_script))
    {
    }

    int loop(bool once);

private:
    // Job loop and bookkeeping
    void run_job(store::Job &job);
    Next run_step(store::Job &job);
    Next keep_lease(store::Job &job);
    Next stored(store::Job &job, store::Job &&updated);
    Next attempt_failed(store::Job &job, std::string_view reason);
    Next give_up(store::Job &job, std::string_view reason);
    Next fail_job(store::Job &job, std::string_view reason, bool unlock);
    Next db_trouble(store::Job &job, Errc e, const char *what);
    Next retry_later(store::Job &job, std::string_view reason);
    Next service_outage(store::Job &job, std::string_view reason);
    void maybe_reap();

    // The four steps
    Next step_queued(store::Job &job);
    Next step_inputs_locked(store::Job &job);
    Next step_signed(store::Job &job);
    Next step_broadcast(store::Job &job);
    Next back_to_queued(store::Job &job, std::string_view reason);

    // Pieces of the failure and confirmation transactions (throw nothing;
    // return the first failing statement).
    std::optional<StepError> fail_rows(store::Job &copy, std::string_view reason, bool unlock, bool on_chain);
    Next step_error(store::Job &job, const StepError &e);
    std::optional<StepError> clear_pending_transfer(const store::Job &job);

    uint64_t fee_per_kb();
    int64_t lease_until() const { return now_ms() + cfg_.job_lease_sec * 1000; }
    void log_step(const store::Job &job, std::string_view msg, log::Level level = log::Level::info,
                  std::string_view reason = {}) const;
    void crash_hook(std::string_view step) const;

    const config::Config &cfg_;
    std::string id_;
    std::optional<std::string> crash_step_;
    store::Db db_;
    store::UtxoPool pool_;
    kms::Client kms_;
    chain::Client chain_;
    Bytes change_script_;
    uint32_t outage_streak_ = 0;  // consecutive KMS/chain outages, for the wait
    int64_t lease_until_ms_ = 0;  // of the job being run, as we last stored it
    int64_t next_reap_ms_ = 0;
};

void Worker::log_step(const store::Job &job, std::string_view msg, log::Level level, std::string_view reason) const
{
    JsonPtr f(json_object());
    json_object_set_new(f.get(), "job_id", json_integer(static_cast<json_int_t>(job.id)));
    json_object_set_new(f.get(), "pending_id", json_stringn(job.pending_id.data(), job.pending_id.size()));
    json_object_set_new(f.get(), "step", json_stringn(job.step.data(), job.step.size()));
    json_object_set_new(f.get(), "attempts", json_integer(job.attempts));
    json_object_set_new(f.get(), "worker", json_stringn(id_.data(), id_.size()));
    if (job.txid)
        json_object_set_new(f.get(), "txid", json_stringn(job.txid->data(), job.txid->size()));
    if (!reason.empty())
        json_object_set_new(f.get(), "reason", json_stringn(reason.data(), reason.size()));
    log::emit(level, msg, f.get());
}

void Worker::crash_hook(std::string_view step) const
{
    if (!crash_step_ || *crash_step_ != step)
        return;
    JsonPtr f(json_pack("{s:s%}", "step", step.data(), step.size()));
    log::warn("test hook: SIGKILL after stored step", f.get());
    raise(SIGKILL);
}

uint64_t Worker::fee_per_kb()
{
    // DESIGN.md §4: the settings table overrides the environment.
    auto rows = db_.query("SELECT value FROM settings WHERE name = ?", {std::string_view("FEE_PER_KB")});
    if (rows && !rows->empty() && (*rows)[0][0]) {
        const std::string &v = *(*rows)[0][0];
        uint64_t fee = 0;
        auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), fee);
        if (ec == std::errc() && ptr == v.data() + v.size() && fee <= 100'000'000)
            return fee;
    }
    return static_cast<uint64_t>(cfg_.fee_per_kb);
}

void Worker::maybe_reap()
{
    const int64_t now = now_ms();
    if (now < next_reap_ms_)
        return;
    next_reap_ms_ = now + kReapEveryMs;
    auto freed = pool_.reap(now - cfg_.utxo_lock_timeout_min * 60'000);
    if (freed && *freed > 0) {
        JsonPtr f(json_pack("{s:I}", "freed", static_cast<json_int_t>(*freed)));
        log::warn("reaped stale utxo locks", f.get());
    }
}

// ---- bookkeeping -------------------------------------------------------

// Takes over a job copy that the caller's transaction just committed.
Next Worker::stored(store::Job &job, store::Job &&updated)
{
    job = std::move(updated);
    lease_until_ms_ = lease_until();
    log_step(job, "job step stored");
    crash_hook(job.step);
    return (job.step == "done" || job.step == "failed") ? Next::yield : Next::proceed;
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
        return r.error() == Errc::conflict ? Next::lost : db_trouble(job, r.error(), "renewing the lease");
    job = std::move(copy);
    lease_until_ms_ = lease_until();
    return Next::proceed;
}

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
    auto r = store::defer_job(db_, copy, now_ms() + backoff_delay_ms(cfg_.job_backoff_ms, 0));
    if (!r)
        return Next::lost;
    job = std::move(copy);
    return Next::yield;
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
    if (job.step == "broadcast") {
        // The transaction is on chain: only bookkeeping is left, and
        // dropping it would lose an anchored record. Keep trying.
        log_step(job, "confirmation bookkeeping keeps failing; retrying", log::Level::error, reason);
        return retry_later(job, reason);
    }
    if (job.step == "signed" && job.txid) {
        auto known = chain_.tx(*job.txid);
        if (known) {
            store::Job copy = job;
            auto r = store::advance_job(db_, copy, "broadcast", std::nullopt, std::nullopt, lease_until());
            if (!r)
                return r.error() == Errc::conflict ? Next::lost : db_trouble(job, r.error(), "storing broadcast");
            return stored(job, std::move(copy));
        }
        if (known.error() != Errc::not_found) {
            // Neither "yes" nor "no": the bytes may be in flight, so the
            // record cannot be called failed and the inputs cannot be freed.
            log_step(job, "chain cannot say whether it has the signed tx; keeping it", log::Level::error, reason);
            return retry_later(job, reason);
        }
    }
    return fail_job(job, reason, true);
}

std::optional<StepError> Worker::clear_pending_transfer(const store::Job &job)
{
    auto st = db_.query("SELECT version FROM patch_state WHERE uid_tag_id = ? AND pending_transfer_id = ? FOR UPDATE",
                        {std::string_view(job.uid_tag_id), std::string_view(job.pending_id)});
    if (!st)
        return StepError{st.error(), "reading patch_state"};
    if (st->empty() || !(*st)[0][0])
        return std::nullopt;  // not ours (or already cleared)
    int64_t version = 0;
    const std::string &v = *(*st)[0][0];
    std::from_chars(v.data(), v.data() + v.size(), version);
    auto u = db_.execute(
        "UPDATE patch_state SET pending_transfer_id = NULL, version = version + 1 WHERE uid_tag_id = ? AND version = ?",
        {std::string_view(job.uid_tag_id), version});
    if (!u)
        return StepError{u.error(), "clearing pending_transfer_id"};
    if (*u == 0)
        return StepError{Errc::conflict, "clearing pending_transfer_id"};
    return std::nullopt;
}

// The rows of a failure, inside the caller's transaction.
std::optional<StepError> Worker::fail_rows(store::Job &copy, std::string_view reason, bool unlock, bool on_chain)
{
    const std::string_view pid(copy.pending_id);
    // The txid is shown only for a transaction that is on chain.
    const std::optional<std::string> shown = on_chain ? copy.txid : std::nullopt;
    const store::Param txid = shown ? store::Param(std::string_view(*shown)) : store::Param(nullptr);
    if (auto r = store::retry_job(db_, copy, reason, now_ms()); !r)  // counts the last attempt, keeps the reason
        return StepError{r.error(), "counting the last attempt", true};
    if (auto r = store::advance_job(db_, copy, "failed", std::nullopt, std::nullopt, 0); !r)
        return StepError{r.error(), "storing failed", true};
    auto p = db_.execute("UPDATE pending_records SET status = 'failed', error = ?, txid = ? WHERE id = ?",
                         {reason, txid, pid});
    if (!p)
        return StepError{p.error(), "failing the pending record"};
    if (unlock) {
        if (auto u = pool_.unlock(copy.id); !u)
            return StepError{u.error(), "unlocking utxos"};
    }
    if (copy.kind == "transfer") {
        if (auto e = clear_pending_transfer(copy))
            return e;
    }
    if (copy.claim_intent_id) {
        auto c = db_.execute(
            "UPDATE claim_intents SET status = 'failed', error = ?, version = version + 1 "
            "WHERE id = ? AND status IN ('pending','approved')",
            {reason, std::string_view(*copy.claim_intent_id)});
        if (!c)
            return StepError{c.error(), "failing the claim intent"};
    }
    return std::nullopt;
}

Next Worker::step_error(store::Job &job, const StepError &e)
{
    if (e.job_row && e.errc == Errc::conflict)
        return Next::lost;
    return db_trouble(job, e.errc, e.what);
}

Next Worker::fail_job(store::Job &job, std::string_view reason, bool unlock)
{
    store::Job copy = job;
    Txn txn(db_);
    if (auto b = txn.begin(); !b)
        return db_trouble(job, b.error(), "begin");
    if (auto e = fail_rows(copy, reason, unlock, false))
        return step_error(job, *e);
    if (auto c = txn.commit(); !c)
        return db_trouble(job, c.error(), "commit");
    log_step(copy, "job failed", log::Level::error, reason);
    return stored(job, std::move(copy));
}

// Inputs that no longer pay for the transaction go back to the pool and the
// job starts over; counted as an attempt so a fee that keeps moving cannot
// loop forever.
Next Worker::back_to_queued(store::Job &job, std::string_view reason)
{
    if (static_cast<int64_t>(job.attempts) + 1 >= cfg_.job_max_attempts)
        return fail_job(job, reason, true);
    store::Job copy = job;
    Txn txn(db_);
    if (auto b = txn.begin(); !b)
        return db_trouble(job, b.error(), "begin");
    if (auto u = pool_.unlock(job.id); !u)
        return db_trouble(job, u.error(), "unlocking utxos");
    if (auto r = store::advance_job(db_, copy, "queued", std::nullopt, std::nullopt, 0); !r)
        return r.error() == Errc::conflict ? Next::lost : db_trouble(job, r.error(), "storing queued");
    if (auto r = store::retry_job(db_, copy, reason, now_ms() + backoff_delay_ms(cfg_.job_backoff_ms, job.attempts)); !r)
        return r.error() == Errc::conflict ? Next::lost : db_trouble(job, r.error(), "counting the attempt");
    if (auto c = txn.commit(); !c)
        return db_trouble(job, c.error(), "commit");
    job = std::move(copy);
    log_step(job, "inputs released; job queued again", log::Level::warn, reason);
    return Next::yield;
}

// ---- steps -------------------------------------------------------------

Next Worker::step_queued(store::Job &job)
{
    const uint64_t fee = fee_per_kb();
    const size_t data_bytes = job.record.size();

    // A worker killed between locking and storing the step left its locks:
    // reuse them when they still cover the transaction.
    auto held = pool_.locked_by(job.id);
    if (!held)
        return db_trouble(job, held.error(), "reading locked utxos");
    auto covers = [&](const std::vector<store::Utxo> &u) {
        uint64_t sum = 0;
        for (const auto &x : u) sum += x.satoshis;
        return !u.empty() && sum >= chain::required_funding(data_bytes, u.size(), fee);
    };
    if (!covers(*held)) {
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
            if (covers(*locked)) {
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
                return d.error() == Errc::conflict ? Next::lost : db_trouble(job, d.error(), "deferring");
            job = std::move(copy);
            log_step(job, "no funding utxo free; job deferred", log::Level::warn);
            return Next::yield;
        }
    }

    store::Job copy = job;
    Txn txn(db_);
    if (auto b = txn.begin(); !b)
        return db_trouble(job, b.error(), "begin");
    auto p = db_.execute(
        "UPDATE pending_records SET status = 'anchoring' WHERE id = ? AND status IN ('pending','anchoring')",
        {std::string_view(job.pending_id)});
    if (!p)
        return db_trouble(job, p.error(), "marking the record anchoring");
    if (auto r = store::advance_job(db_, copy, "inputs_locked", std::nullopt, std::nullopt, lease_until()); !r)
        return r.error() == Errc::conflict ? Next::lost : db_trouble(job, r.error(), "storing inputs_locked");
    if (auto c = txn.commit(); !c)
        return db_trouble(job, c.error(), "commit");
    return stored(job, std::move(copy));
}

Next Worker::step_inputs_locked(store::Job &job)
{
    auto utxos = pool_.locked_by(job.id);
    if (!utxos)
        return db_trouble(job, utxos.error(), "reading locked utxos");
    if (utxos->empty())  // reaped while we were away
        return back_to_queued(job, "funding inputs were released");

    std::vector<chain::FundingInput> inputs;
    inputs.reserve(utxos->size());
    for (const store::Utxo &u : *utxos) {
        auto script = crypto::hex_decode(u.script_hex);
        if (!script)
            return attempt_failed(job, "a funding utxo has a malformed script");
        inputs.push_back({u.id, u.txid, u.vout, u.satoshis, u.key_id, std::move(*script)});
    }

    chain::BuildParams params;
    params.data_pushes.emplace_back(job.record.begin(), job.record.end());
    params.inputs = inputs;
    params.change_script = change_script_;
    params.fee_per_kb = fee_per_kb();
    auto utx = chain::build_unsigned(params);
    if (!utx) {
        if (utx.error() == Errc::out_of_range)
            return back_to_queued(job, "inputs no longer cover the fee");
        return attempt_failed(job, "cannot build the transaction");
    }

    // One KMS call with every input's sighash.
    std::vector<kms::SignRequest> requests;
    requests.reserve(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i)
        requests.push_back({inputs[i].key_id, utx->sighashes[i]});
    auto sigs = kms_.sign(requests);
    if (!sigs)
        return sigs.error() == Errc::unavailable ? service_outage(job, "kms unavailable")
                                                 : attempt_failed(job, "kms refused to sign");
    outage_streak_ = 0;
    auto raw = chain::attach_signatures(*utx, inputs, *sigs);
    if (!raw)
        return attempt_failed(job, "kms signatures do not match the inputs");
    auto parsed = crypto::parse_tx(*raw);
    if (!parsed)
        return attempt_failed(job, "built transaction does not parse");
    const std::string txid = crypto::txid_hex(*parsed);

    // Stored before any broadcast: from here on the job only ever sends these bytes.
    store::Job copy = job;
    auto r = store::advance_job(db_, copy, "signed", crypto::hex_encode(*raw), txid, lease_until());
    if (!r)
        return r.error() == Errc::conflict ? Next::lost : db_trouble(job, r.error(), "storing signed");
    return stored(job, std::move(copy));
}

Next Worker::step_signed(store::Job &job)
{
    if (!job.raw_tx || !job.txid)
        return back_to_queued(job, "signed job without a stored transaction");
    std::string node_reason;
    auto sent = chain_.broadcast(*job.raw_tx, &node_reason);
    if (!sent) {
        if (sent.error() == Errc::unavailable)
            return service_outage(job, "chain unavailable");
        if (sent.error() != Errc::conflict)
            return attempt_failed(job, "chain error");
        // A rejection may be our own transaction already mined or in the
        // mempool (e.g. "inputs spent"): ask for it by txid before counting.
        auto known = chain_.tx(*job.txid);
        if (!known) {
            JsonPtr f(json_pack("{s:I,s:s}", "job_id", static_cast<json_int_t>(job.id), "node_reason",
                                node_reason.substr(0, 200).c_str()));
            log::warn("chain rejected the transaction", f.get());
            return attempt_failed(job, "chain rejected the transaction");
        }
    } else if (*sent != *job.txid) {
        log_step(job, "chain answered another txid; keeping ours", log::Level::warn);
    }
    outage_streak_ = 0;
    store::Job copy = job;
    auto r = store::advance_job(db_, copy, "broadcast", std::nullopt, std::nullopt, lease_until());
    if (!r)
        return r.error() == Errc::conflict ? Next::lost : db_trouble(job, r.error(), "storing broadcast");
    return stored(job, std::move(copy));
}

Next Worker::step_broadcast(store::Job &job)
{
    if (!job.raw_tx || !job.txid)
        return attempt_failed(job, "broadcast job without a stored transaction");
    auto raw = crypto::hex_decode(*job.raw_tx);
    if (!raw)
        return attempt_failed(job, "stored transaction is not hex");
    auto tx = crypto::parse_tx(*raw);
    if (!tx)
        return attempt_failed(job, "stored transaction does not parse");
    auto hash = record_hash_hex(job.record);
    if (!hash)
        return attempt_failed(job, "record is not valid JSON");
    JsonPtr rec(json_loadb(job.record.data(), job.record.size(), 0, nullptr));
    const char *owner = json_string_value(json_object_get(json_object_get(rec.get(), "auth"), "owner"));
    if (!owner)
        return attempt_failed(job, "record has no auth.owner");

    const std::string &txid = *job.txid;
    const std::string_view uid(job.uid_tag_id), pid(job.pending_id);
    store::Job copy = job;
    std::string refused;  // set when the chain has the record but the state cannot take it

    Txn txn(db_);
    if (auto b = txn.begin(); !b)
        return db_trouble(job, b.error(), "begin");
    auto run = [&]() -> std::optional<StepError> {
        if (auto s = pool_.mark_spent(job.id, txid); !s)
            return StepError{s.error(), "marking inputs spent"};
        for (size_t vout = 0; vout < tx->outputs.size(); ++vout) {
            const crypto::TxOut &out = tx->outputs[vout];
            if (out.script != change_script_)
                continue;
            auto a = pool_.add(txid, static_cast<uint32_t>(vout), out.satoshis, cfg_.utxo_change_key_id,
                               crypto::hex_encode(out.script), "available");
            // conflict: a chain sync already put this outpoint in the pool.
            if (!a && a.error() != Errc::conflict)
                return StepError{a.error(), "adding the change output"};
        }

        if (job.kind == "registration") {
            auto ins = db_.execute(
                "INSERT INTO patch_state (uid_tag_id, current_txid, current_record, record_hash, owner_address) "
                "VALUES (?, ?, ?, ?, ?)",
                {uid, std::string_view(txid), std::string_view(job.record), std::string_view(*hash),
                 std::string_view(owner)});
            if (!ins && ins.error() != Errc::conflict)
                return StepError{ins.error(), "inserting patch_state"};
            if (!ins)
                refused = "uid already registered by another record";
        } else {
            auto st = db_.query("SELECT version, current_txid FROM patch_state WHERE uid_tag_id = ? FOR UPDATE", {uid});
            if (!st)
                return StepError{st.error(), "reading patch_state"};
            if (st->empty()) {
                refused = "patch state missing";
            } else if (job.prev_txid && (*st)[0][1] != job.prev_txid) {
                refused = "patch state changed before the transfer confirmed";
            } else {
                int64_t version = 0;
                const std::string v = (*st)[0][0].value_or("0");
                std::from_chars(v.data(), v.data() + v.size(), version);
                auto up = db_.execute(
                    "UPDATE patch_state SET current_txid = ?, current_record = ?, record_hash = ?, owner_address = ?, "
                    "pending_transfer_id = NULL, version = version + 1 WHERE uid_tag_id = ? AND version = ?",
                    {std::string_view(txid), std::string_view(job.record), std::string_view(*hash),
                     std::string_view(owner), uid, version});
                if (!up)
                    return StepError{up.error(), "updating patch_state"};
                if (*up == 0)
                    return StepError{Errc::unavailable, "patch_state version moved"};  // retried, not the lease
            }
        }
        if (!refused.empty()) {
            // The inputs are spent and the change is ours either way; only
            // the state refuses the record.
            if (auto e = fail_rows(copy, refused, false, true))
                return e;
            return std::nullopt;
        }

        auto rec_ins = db_.execute(
            "INSERT INTO records (txid, uid_tag_id, kind, record, record_hash, confirmed_ms) VALUES (?, ?, ?, ?, ?, ?)",
            {std::string_view(txid), uid, std::string_view(job.kind), std::string_view(job.record),
             std::string_view(*hash), now_ms()});
        if (!rec_ins && rec_ins.error() != Errc::conflict)
            return StepError{rec_ins.error(), "inserting records"};
        if (job.claim_intent_id) {
            auto c = db_.execute(
                "UPDATE claim_intents SET status = 'confirmed', txid = ?, error = NULL, version = version + 1 "
                "WHERE id = ?",
                {std::string_view(txid), std::string_view(*job.claim_intent_id)});
            if (!c)
                return StepError{c.error(), "confirming the claim intent"};
        }
        auto p = db_.execute("UPDATE pending_records SET status = 'confirmed', txid = ?, error = NULL WHERE id = ?",
                             {std::string_view(txid), pid});
        if (!p)
            return StepError{p.error(), "confirming the pending record"};
        if (auto r = store::advance_job(db_, copy, "done", std::nullopt, std::nullopt, 0); !r)
            return StepError{r.error(), "storing done", true};
        return std::nullopt;
    };
    if (auto e = run())
        return step_error(job, *e);
    if (auto c = txn.commit(); !c)
        return db_trouble(job, c.error(), "commit");
    if (!refused.empty())
        log_step(copy, "record anchored but refused by the patch state", log::Level::error, refused);
    return stored(job, std::move(copy));
}

Next Worker::run_step(store::Job &job)
{
    if (job.step == "queued")
        return step_queued(job);
    if (auto l = keep_lease(job); l != Next::proceed)
        return l;
    if (job.step == "inputs_locked")
        return step_inputs_locked(job);
    if (job.step == "signed")
        return step_signed(job);
    if (job.step == "broadcast")
        return step_broadcast(job);
    return Next::yield;  // done / failed: claim_job never returns them
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
            // Nothing may escape a step; Txn has already rolled back.
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
        if (g_stop) {
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
    while (!g_stop) {
        maybe_reap();
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

int config_error(const char *line)
{
    JsonPtr f(json_pack("{s:s}", "problem", line));
    log::error("patchproof-worker cannot start", f.get());
    return 1;
}

}  // namespace

int run(const config::Config &cfg, const WorkerOptions &opt)
{
    auto crash = crash_step_from_env(cfg.env, std::getenv("PP_TEST_CRASH_AFTER_STEP"));
    if (!crash)
        return config_error("PP_TEST_CRASH_AFTER_STEP must be inputs_locked, signed, broadcast or done");
    if (cfg.kms_url.empty())
        return config_error("KMS_URL is required");
    if (cfg.chain_api_url.empty())
        return config_error("CHAIN_API_URL is required");
    auto net = crypto::parse_network(cfg.chain_network);
    if (!net)
        return config_error("CHAIN_NETWORK must be main or test");
    auto change_hash = crypto::parse_p2pkh_address(cfg.utxo_change_address, *net);
    if (!change_hash)
        return config_error("UTXO_CHANGE_ADDRESS must be a P2PKH address for CHAIN_NETWORK");
    // The change output goes back into the pool under this key: it must be
    // the key of the change address, or the pool would hold unspendable coins.
    auto change_key = crypto::hex_decode(cfg.utxo_change_key_id);
    if (!change_key || change_key->size() != 33 ||
        crypto::pubkey_hash(std::span<const uint8_t, 33>(change_key->data(), 33)) != *change_hash)
        return config_error("UTXO_CHANGE_KEY_ID must be the compressed public key of UTXO_CHANGE_ADDRESS");

    const std::string id = opt.id.empty() ? default_id() : opt.id;
    if (id.size() > 128)
        return config_error("--id must be at most 128 characters");

    kms::ClientOptions ko;
    ko.base_url = cfg.kms_url;
    ko.api_key = std::string(cfg.kms_api_key.reveal());
    ko.timeout_ms = cfg.kms_timeout_ms;
    ko.retries = static_cast<int>(cfg.kms_retries);
    auto kms = kms::Client::create(std::move(ko));
    if (!kms)
        return config_error("cannot create the KMS client");

    chain::ChainOptions co;
    co.base_url = cfg.chain_api_url;
    co.network = cfg.chain_network;
    co.api_key = std::string(cfg.woc_api_key.reveal());
    co.timeout_ms = cfg.chain_timeout_ms;
    auto chain = chain::Client::create(std::move(co));
    if (!chain)
        return config_error("cannot create the chain client");

    store::DbConfig dc;
    dc.host = cfg.db_host;
    dc.port = static_cast<unsigned>(cfg.db_port);
    dc.unix_socket = cfg.db_socket;
    dc.user = cfg.db_user;
    dc.password = std::string(cfg.db_password.reveal());
    dc.database = cfg.db_name;
    std::optional<store::Db> db;
    int64_t wait = cfg.worker_poll_ms;
    while (!db && !g_stop) {
        unsigned err = 0;
        auto c = store::Db::connect(dc, &err);
        if (c) {
            db.emplace(std::move(*c));
            break;
        }
        JsonPtr f(json_pack("{s:s,s:i,s:I}", "error", std::string(errc_name(c.error())).c_str(), "mysql_errno",
                            static_cast<int>(err), "retry_ms", static_cast<json_int_t>(wait)));
        log::warn("cannot connect to MariaDB; retrying", f.get());
        sleep_ms(wait);
        wait = std::min<int64_t>(wait * 2, kDbDownMaxSleepMs);
    }
    if (!db)
        return 0;  // stopped before the database came up

    JsonPtr f(json_pack("{s:s,s:s,s:b}", "worker", id.c_str(), "network", cfg.chain_network.c_str(), "test_hook",
                        crash->has_value()));
    log::info("patchproof-worker starting", f.get());
    Worker w(cfg, id, std::move(*crash), std::move(*db), std::move(*kms), std::move(*chain),
             crypto::p2pkh_script(*change_hash));
    return w.loop(opt.once);
}

}  // namespace pp::worker

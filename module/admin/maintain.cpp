// SPDX-License-Identifier: MIT
#include "admin/maintain.h"

#include <string>
#include <utility>
#include <vector>

#include "admin/run.h"
#include "common/clock.h"
#include "admin/sync.h"
#include "store/jobs.h"
#include "store/maintenance.h"
#include "store/settings.h"
#include "store/txn.h"
#include "store/utxo_pool.h"

namespace pp::admin {
namespace {

// A plan whose inputs a worker took between reading and locking is made
// again from the pool as it is now, a few times.
constexpr int kPlanRounds = 3;

json_t *jint(uint64_t v) { return json_integer(static_cast<json_int_t>(v)); }

json_t *bucket(const store::PoolBucket &b)
{
    return json_pack("{s:o,s:o}", "count", jint(b.count), "totalSatoshis", jint(b.total_satoshis));
}

json_t *skipped(const std::string &reason) { return json_pack("{s:b,s:s}", "skipped", 1, "reason", reason.c_str()); }

// The chain's view of one address: how many outputs it lists, their sum.
json_t *address_view(chain::Client &chain, const std::string &address, bool *ok)
{
    auto outs = chain.unspent(address);
    if (!outs) {
        *ok = false;
        return nullptr;
    }
    uint64_t total = 0;
    for (const chain::Unspent &u : *outs)
        total += u.satoshis;
    return json_pack("{s:s,s:o,s:o}", "address", address.c_str(), "unspentCount", jint(outs->size()),
                     "unspentSatoshis", jint(total));
}

json_t *chain_view(chain::Client *chain, const MaintainSettings &s)
{
    if (!chain)
        return json_pack("{s:s}", "error", "CHAIN_API_URL is not set");
    auto info = chain->info();
    if (!info)
        return json_pack("{s:s}", "error", "chain API unavailable");
    bool ok = true;
    JsonPtr view(json_pack("{s:I,s:s}", "tipHeight", json_int_t(info->blocks), "bestBlockHash",
                           info->best_block_hash.c_str()));
    if (!s.funding_address.empty())
        json_object_set_new(view.get(), "funding", address_view(*chain, s.funding_address, &ok));
    if (ok && !s.change_address.empty())
        json_object_set_new(view.get(), "change", address_view(*chain, s.change_address, &ok));
    if (!ok)
        return json_pack("{s:s}", "error", "chain API unavailable");
    return view.release();
}

// One maintenance job and the lock on its inputs, in one transaction.
// false when an input is no longer available (nothing was written).
Result<std::optional<uint64_t>> write_job(store::Db &db, store::JobKind kind, const std::string &payload,
                                          const std::vector<store::Utxo> &inputs)
{
    return store::with_txn(db, [&](store::Txn &t) -> Result<std::optional<uint64_t>> {
        auto id = store::insert_job(t.db(), kind, payload);
        if (!id)
            return id.error();
        store::UtxoPool pool(t.db());
        auto locked = pool.lock_exact(*id, inputs, wall_ms());
        if (!locked)
            return locked.error();
        if (!*locked)
            return Errc::conflict;  // rolls back the job too
        return std::optional<uint64_t>(*id);
    });
}

// One step's entry in `result` and, when it wrote a job, its id.
struct Step {
    JsonPtr entry;
    std::optional<uint64_t> job;
};

// Writes the planned job and gives its step (entry with its jobId); nullopt
// when an input was taken meanwhile, for the caller to plan again.
Result<std::optional<Step>> planned_step(store::Db &db, store::JobKind kind, const std::string &payload,
                                         const std::vector<store::Utxo> &inputs, JsonPtr entry)
{
    auto id = write_job(db, kind, payload, inputs);
    if (!id && id.error() == Errc::conflict)
        return std::optional<Step>();
    if (!id)
        return id.error();
    json_object_set_new(entry.get(), "jobId", jint(**id));
    return std::optional<Step>(Step{std::move(entry), *id});
}

Result<Step> sweep_step(store::Db &db, const MaintainSettings &s, bool dry_run)
{
    for (int round = 0; round < kPlanRounds; ++round) {
        auto dust = store::available_dust(db, s.dust_threshold, static_cast<int64_t>(s.dust_sweep_limit));
        if (!dust)
            return dust.error();
        SweepPlan plan = plan_sweep(std::move(*dust), s);
        if (plan.skipped)
            return Step{JsonPtr(skipped(*plan.skipped)), std::nullopt};
        JsonPtr entry(json_pack("{s:o,s:n,s:n,s:o,s:o}", "swept", jint(plan.inputs.size()), "txid", "jobId",
                                "totalSatoshis", jint(plan.total), "fee", jint(plan.fee)));
        if (dry_run)
            return Step{std::move(entry), std::nullopt};
        auto step = planned_step(db, store::JobKind::sweep, "{}", plan.inputs, std::move(entry));
        if (!step)
            return step.error();
        if (*step)
            return std::move(**step);
    }
    return Step{JsonPtr(skipped("the dust outputs kept changing while planning; run again")), std::nullopt};
}

Result<Step> split_step(store::Db &db, const MaintainSettings &s, bool dry_run)
{
    for (int round = 0; round < kPlanRounds; ++round) {
        auto big = store::count_available_at_least(db, s.split_size);
        if (!big)
            return big.error();
        auto largest = store::largest_available(db);
        if (!largest)
            return largest.error();
        SplitPlan plan = plan_split(*big, *largest, s);
        if (plan.skipped)
            return Step{JsonPtr(skipped(*plan.skipped)), std::nullopt};
        JsonPtr entry(json_pack("{s:o,s:n,s:n,s:o,s:o}", "outputs", jint(plan.outputs), "txid", "jobId",
                                "satoshis", jint(plan.satoshis), "fee", jint(plan.fee)));
        if (dry_run)
            return Step{std::move(entry), std::nullopt};
        const std::string payload = "{\"outputs\":" + std::to_string(plan.outputs) +
                                    ",\"satoshis\":" + std::to_string(plan.satoshis) + "}";
        auto step = planned_step(db, store::JobKind::split, payload, {*plan.input}, std::move(entry));
        if (!step)
            return step.error();
        if (*step)
            return std::move(**step);
    }
    return Step{JsonPtr(skipped("the pool kept changing while planning; run again")), std::nullopt};
}

json_t *sync_entry(const SyncCounts &n)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "added", jint(n.added), "updated", jint(n.updated), "markedSpent",
                     jint(n.marked_spent), "quarantined", jint(n.quarantined), "released", jint(n.released));
}

// Fills each written step's txid from the wait; failed jobs get failed/error.
void record_outcomes(const std::vector<std::pair<json_t *, uint64_t>> &written, const WaitOutcome &w,
                     MaintainOutcome &out)
{
    for (const auto &[entry, id] : written) {
        for (const JobOutcome &o : w.jobs) {
            if (o.job_id != id)
                continue;
            // A failed job's transaction (if it made one) did not go on chain.
            json_object_set_new(entry, "txid", o.failed ? json_null() : json_string_or_null(o.txid));
            if (o.failed) {
                out.any_failed = true;
                json_object_set_new(entry, "failed", json_true());
                json_object_set_new(entry, "error", json_string(o.error.value_or("the job failed").c_str()));
            }
        }
    }
}

}  // namespace

std::optional<chain::Client> chain_client(const config::Config &cfg)
{
    if (cfg.chain_api_url.empty())
        return std::nullopt;
    chain::ChainOptions opt;
    opt.base_url = cfg.chain_api_url;
    opt.network = cfg.chain_network == "main" ? "main" : "test";
    opt.api_key = std::string(cfg.woc_api_key.reveal());
    opt.timeout_ms = cfg.chain_timeout_ms;
    auto c = chain::Client::create(std::move(opt));
    if (!c)
        return std::nullopt;
    return std::optional<chain::Client>(std::move(*c));
}

Result<MaintainSettings> resolve_settings(store::Db &db, const config::Config &cfg)
{
    MaintainSettings s = settings_from(cfg);
    auto fee = store::fee_per_kb_setting(db);
    if (fee && *fee)
        s.fee_per_kb = **fee;
    else if (!fee && fee.error() != Errc::invalid_argument)
        return fee.error();  // an unusable stored value falls back to the environment, as in the worker
    return s;
}

Result<JsonPtr> utxo_health(store::Db &db, chain::Client *chain, const MaintainSettings &s)
{
    store::UtxoPool pool(db);
    auto st = pool.stats();
    if (!st)
        return st.error();
    JsonPtr body(json_pack(
        "{s:{s:o,s:o,s:o,s:o,s:o},s:{s:s,s:s,s:I,s:s}}", "db", "unconfirmed", bucket(st->unconfirmed), "available",
        bucket(st->available), "locked", bucket(st->locked), "spent", bucket(st->spent), "quarantined",
        bucket(st->quarantined), "funding", "address", s.funding_address.c_str(), "network", s.network.c_str(),
        "minConfirmations", json_int_t(s.min_confirmations), "keyIdentifier", s.funding_key_id.c_str()));
    if (!body)
        return Errc::internal;
    json_object_set_new(body.get(), "chain", chain_view(chain, s));
    return body;
}

Result<MaintainOutcome> run_maintain(store::Db &db, chain::Client *chain, const MaintainSettings &s, Action action,
                                     bool dry_run)
{
    std::optional<LeaseRun> run;
    if (!dry_run) {
        auto r = LeaseRun::begin(db, kMaintainLease, {store::JobKind::sweep, store::JobKind::split}, s.lease_sec);
        if (!r)
            return r.error();
        run.emplace(std::move(*r));
    }
    MaintainOutcome out;
    JsonPtr result(json_object());
    std::vector<std::pair<json_t *, uint64_t>> written;  // entries borrowed from result

    if (action == Action::sync || action == Action::auto_run) {
        if (!chain)
            return Errc::unavailable;
        KeepLease keep;
        if (run)
            keep = [&run]() { return run->keep(); };
        auto n = sync_pool(db, *chain, s, dry_run, keep);
        if (!n)
            return n.error();
        json_object_set_new(result.get(), "sync", sync_entry(*n));
    }
    using StepFn = Result<Step> (*)(store::Db &, const MaintainSettings &, bool);
    const std::pair<Action, std::pair<const char *, StepFn>> steps[] = {
        {Action::sweep, {"sweep", sweep_step}}, {Action::split, {"split", split_step}}};
    for (const auto &[which, named] : steps) {
        if (action != which && action != Action::auto_run)
            continue;
        if (run)
            if (auto k = run->keep(); !k)
                return k.error();
        auto step = named.second(db, s, dry_run);
        if (!step)
            return step.error();
        json_t *entry = step->entry.get();
        json_object_set_new(result.get(), named.first, step->entry.release());
        if (step->job)
            written.emplace_back(entry, *step->job);
    }

    if (!written.empty()) {
        std::vector<uint64_t> ids;
        for (const auto &w : written)
            ids.push_back(w.second);
        auto w = wait_signed(db, *run, ids, s.wait_sec);
        if (w) {
            out.all_signed = w->all_signed;
            record_outcomes(written, *w, out);
        } else {
            // The jobs are written and the worker will sign them: answer as
            // for a wait that ended early (txid null, jobId set), not an error.
            out.all_signed = false;
        }
    }
    out.body.reset(json_pack("{s:b,s:s,s:o}", "success", !out.any_failed, "action",
                             std::string(action_text(action)).c_str(), "result", result.release()));
    if (dry_run)
        json_object_set_new(out.body.get(), "dryRun", json_true());
    return out;
}

}  // namespace pp::admin

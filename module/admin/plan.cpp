// SPDX-License-Identifier: MIT
#include "admin/plan.h"

#include <algorithm>

#include "chain/txbuilder.h"

namespace pp::admin {
namespace {

std::string u64s(uint64_t v) { return std::to_string(v); }

}  // namespace

std::optional<Action> action_from_text(std::string_view text) noexcept
{
    if (text == "auto")
        return Action::auto_run;
    if (text == "sync")
        return Action::sync;
    if (text == "sweep")
        return Action::sweep;
    if (text == "split")
        return Action::split;
    return std::nullopt;
}

std::string_view action_text(Action a) noexcept
{
    switch (a) {
    case Action::auto_run: return "auto";
    case Action::sync: return "sync";
    case Action::sweep: return "sweep";
    case Action::split: return "split";
    }
    return "unknown";
}

MaintainSettings settings_from(const config::Config &cfg)
{
    MaintainSettings s;
    s.network = cfg.chain_network == "main" ? "main" : "test";
    s.funding_address = cfg.utxo_funding_address;
    s.funding_key_id = cfg.utxo_funding_key_id;
    s.change_address = cfg.utxo_change_address;
    s.change_key_id = cfg.utxo_change_key_id;
    s.min_confirmations = cfg.utxo_min_confirmations;
    auto u = [](int64_t v) { return v < 0 ? uint64_t{0} : static_cast<uint64_t>(v); };
    s.dust_threshold = u(cfg.dust_threshold_sats);
    s.dust_sweep_limit = u(cfg.dust_sweep_limit);
    s.min_utxo_count = u(cfg.min_utxo_count);
    s.split_size = u(cfg.utxo_split_size_sats);
    s.max_split_outputs = u(cfg.max_split_outputs);
    s.fee_per_kb = u(cfg.fee_per_kb);
    s.wait_sec = cfg.admin_wait_sec;
    s.lease_sec = cfg.admin_lease_sec;
    return s;
}

SweepPlan plan_sweep(std::vector<store::Utxo> dust, const MaintainSettings &s)
{
    SweepPlan p;
    if (dust.size() > s.dust_sweep_limit)
        dust.resize(s.dust_sweep_limit);
    if (dust.size() < 2) {
        p.skipped = "fewer than 2 available outputs below " + u64s(s.dust_threshold) + " satoshis";
        return p;
    }
    // The smallest may not be worth their input: drop from the small end
    // until the rest pays the fee and leaves one output.
    std::sort(dust.begin(), dust.end(), [](const store::Utxo &a, const store::Utxo &b) {
        return a.satoshis != b.satoshis ? a.satoshis > b.satoshis : a.id < b.id;
    });
    uint64_t total = 0;
    for (const store::Utxo &u : dust)
        total += u.satoshis;
    while (dust.size() >= 2) {
        // What build_unsigned needs for a change-only transaction: its fee
        // and a change output of at least the builder's dust limit.
        const chain::TxShape shape{dust.size(), std::nullopt, 0, true};
        const uint64_t fee = chain::estimate_fee(shape, s.fee_per_kb);
        if (total >= chain::required_funding(shape, 0, s.fee_per_kb)) {
            p.fee = fee;
            p.total = total;
            p.inputs = std::move(dust);
            return p;
        }
        total -= dust.back().satoshis;
        dust.pop_back();
    }
    p.skipped = "the dust outputs do not pay the fee of sweeping them and leave one output";
    return p;
}

SplitPlan plan_split(uint64_t big_enough, const std::optional<store::Utxo> &largest, const MaintainSettings &s)
{
    SplitPlan p;
    p.satoshis = s.split_size;
    if (big_enough >= s.min_utxo_count) {
        p.skipped = "the pool has " + u64s(big_enough) + " available outputs of at least " + u64s(s.split_size) +
                    " satoshis (MIN_UTXO_COUNT " + u64s(s.min_utxo_count) + ")";
        return p;
    }
    uint64_t n = std::min<uint64_t>(s.min_utxo_count - big_enough, s.max_split_outputs);
    if (!largest || s.split_size == 0 || n == 0) {
        p.skipped = "no available output to split";
        return p;
    }
    // n outputs of split_size, one change output, the fee.
    for (; n > 0; --n) {
        // The fixed outputs, the fee with change, change of at least dust.
        const chain::TxShape shape{1, std::nullopt, static_cast<size_t>(n), true};
        const uint64_t fee = chain::estimate_fee(shape, s.fee_per_kb);
        if (largest->satoshis >= chain::required_funding(shape, n * s.split_size, s.fee_per_kb)) {
            p.input = largest;
            p.outputs = n;
            p.fee = fee;
            return p;
        }
    }
    p.skipped = "the largest available output (" + u64s(largest->satoshis) + " satoshis) cannot pay for one " +
                u64s(s.split_size) + "-satoshi output and the fee";
    return p;
}

}  // namespace pp::admin

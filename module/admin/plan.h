// SPDX-License-Identifier: MIT
// UTXO maintenance settings and the pure sweep/split planners (DESIGN.md §3
// Admin, §4): what one maintenance transaction should do, decided from the
// pool as read, before anything is written. Unit-tested without a database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "store/utxo_pool.h"

namespace pp::admin {

enum class Action { auto_run, sync, sweep, split };
std::optional<Action> action_from_text(std::string_view text) noexcept;
std::string_view action_text(Action a) noexcept;

// What maintenance reads from the configuration (fee resolved by the caller:
// the settings table first, then FEE_PER_KB).
struct MaintainSettings {
    std::string network;  // "main" | "test"
    std::string funding_address, funding_key_id, change_address, change_key_id;
    int64_t min_confirmations = 1;
    uint64_t dust_threshold = 1000;
    uint64_t dust_sweep_limit = 50;
    uint64_t min_utxo_count = 10;
    uint64_t split_size = 10000;
    uint64_t max_split_outputs = 50;
    uint64_t fee_per_kb = 500;
    int64_t wait_sec = 20;
    int64_t lease_sec = 60;
};
MaintainSettings settings_from(const config::Config &cfg);


struct SweepPlan {
    std::vector<store::Utxo> inputs;
    uint64_t total = 0, fee = 0;
    std::optional<std::string> skipped;  // the reason when there is nothing to do
};
// dust: available outputs below the threshold, smallest first (at most the
// limit). Needs at least two, and their sum must be what the builder needs
// for them (chain::required_funding: the fee and a change output of at
// least chain::kDustLimit), else skipped with the reason.
SweepPlan plan_sweep(std::vector<store::Utxo> dust, const MaintainSettings &s);

struct SplitPlan {
    std::optional<store::Utxo> input;
    uint64_t outputs = 0, satoshis = 0, fee = 0;
    std::optional<std::string> skipped;
};
// big_enough: available outputs of at least split_size; largest: the
// largest available output. Makes min(missing, max_split_outputs) outputs,
// fewer when the largest output cannot pay for that many plus the fee and
// a change output (chain::required_funding).
SplitPlan plan_split(uint64_t big_enough, const std::optional<store::Utxo> &largest, const MaintainSettings &s);

}  // namespace pp::admin

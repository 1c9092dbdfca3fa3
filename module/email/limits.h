// SPDX-License-Identifier: MIT
// The /v1/auth/* limits (DESIGN.md §3 "Email code login") in memcached.
//
// Windows start with their first counted event, not at a multiple of the
// window: key "<base>:w" is added with TTL = the window and holds its end
// (ms), which names the window's counters and gives an exact Retry-After.
//
// Guessing limits count an attempt BEFORE its codes are checked, so parallel
// submits cannot all pass a check made before any of them failed. Only
// increments exist, so a window has two counters: "a" (every attempt) and
// "s" (settled: attempts that turned out not to be failures — a success, a
// refusal, a service error). a - s is then failures plus attempts still in
// flight. An attempt reads s first and then increments a; it is admitted
// while a - s <= max. s read first can only be low, so the check errs on the
// strict side and at most max failures are ever admitted in a window.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/cache.h"

namespace pp::email {

// a - s <= max, without unsigned wrap-around.
bool attempt_admitted(uint64_t attempts, uint64_t settled, int64_t max) noexcept;

// Whole seconds until end_ms, at least 1 (Retry-After).
int64_t seconds_until(int64_t end_ms, int64_t now_ms) noexcept;

// A memcached counter or time value; 0 when missing or not a number.
int64_t cached_number(const std::optional<std::string> &value) noexcept;

// The key prefix of one limit: the bucket and a hash of the (client) id.
std::string limit_base(std::string_view bucket, std::string_view id);

struct Attempt {
    std::string base;
    int64_t end_ms = 0;      // the window's end
    uint64_t attempts = 0;   // a after this attempt's increment
    uint64_t settled = 0;    // s as read before it
    int64_t gen = 0;         // the window's generation (see next_generation)
    bool admitted = false;
    uint32_t ttl_sec = 0;    // of the window's counters
};

// Failures plus attempts in flight admitted in a window's first generation,
// and in each later one.
struct AttemptLimit {
    int64_t max = 0;
    int64_t later_max = 0;
};

// Joins the window running for base (or opens one ending at now + window)
// and counts one attempt in its current generation.
Result<Attempt> begin_attempt(store::Cache &cache, const std::string &base, const AttemptLimit &limit,
                              int64_t window_ms, int64_t now_ms);

// The attempt was not a failure. With close_if_clean, a window left with no
// failure and nothing in flight is removed, so the next failure opens a new
// one (a window starts at a failure, not at a success). Never once the
// window has a later generation: those had failures.
Result<void> settle(store::Cache &cache, const Attempt &at, bool close_if_clean);

// Ends the attempt's generation of its window: later attempts count in fresh
// counters of the same window (its end stays). A no-op when the generation
// has ended already, so a late caller cannot end a newer one.
Result<void> next_generation(store::Cache &cache, const Attempt &at);

// Removes the window (its counters are left to expire): the next attempt
// opens a fresh one.
Result<void> close_window(store::Cache &cache, const std::string &base);

// A plain count in a window opened by its first event: the count after this
// one, and the window's end.
struct Counted {
    uint64_t count = 0;
    int64_t end_ms = 0;
};
Result<Counted> count_event(store::Cache &cache, const std::string &base, int64_t window_ms, int64_t now_ms);

}  // namespace pp::email

// SPDX-License-Identifier: MIT
// Fixed-window rate limits counted in memcached, so every worker on every
// host shares one count per (bucket, id, window).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/cache.h"

namespace pp::app {

struct RateDecision {
    bool allowed = true;
    int64_t retry_after_sec = 0;
};

// The memcached key of one (bucket, id) count in the window holding now_ms.
// Ids are client text, so they are hashed into the key.
std::string rate_key(std::string_view bucket, std::string_view id, int64_t window_ms, int64_t now_ms);

// The id of a per-user limit: the user together with the client address, so
// a stranger elsewhere spends only their own budget for that user.
std::string user_at_address(std::string_view user_id, std::string_view remote_addr);

// The decision for the count-th request of a window (count from 1).
RateDecision rate_decide(uint64_t count, int64_t max, int64_t window_ms, int64_t now_ms) noexcept;

// unavailable when memcached cannot count.
Result<RateDecision> rate_check(store::Cache &cache, std::string_view bucket, std::string_view id, int64_t max,
                                int64_t window_ms, int64_t now_ms);

}  // namespace pp::app

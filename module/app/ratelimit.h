// SPDX-License-Identifier: MIT
// Fixed-window rate limits counted in memcached, so every worker on every
// host shares one count per (bucket, id, window).
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.h"
#include "store/cache.h"

namespace pp::app {

struct RateDecision {
    bool allowed = true;
    int64_t retry_after_sec = 0;
};

// unavailable when memcached cannot count.
Result<RateDecision> rate_check(store::Cache &cache, std::string_view bucket, std::string_view id, int64_t max,
                                int64_t window_ms, int64_t now_ms);

}  // namespace pp::app

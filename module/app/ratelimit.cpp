// SPDX-License-Identifier: MIT
#include "app/ratelimit.h"

#include <string>

#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace pp::app {

Result<RateDecision> rate_check(store::Cache &cache, std::string_view bucket, std::string_view id, int64_t max,
                                int64_t window_ms, int64_t now_ms)
{
    const int64_t window = now_ms / window_ms;
    // Ids are client text (user ids, IPv6 addresses): hash them into a safe key.
    const crypto::Hash256 h = crypto::sha256(crypto::as_bytes(id));
    const std::string key =
        "rl:" + std::string(bucket) + ":" + crypto::hex_encode(std::span(h).first(16)) + ":" + std::to_string(window);
    const uint32_t ttl = static_cast<uint32_t>(window_ms / 1000 + 2);
    auto count = cache.incr(key, ttl);
    if (!count)
        return count.error();
    RateDecision d;
    if (static_cast<int64_t>(*count) > max) {
        d.allowed = false;
        const int64_t window_end = (window + 1) * window_ms;
        d.retry_after_sec = std::max<int64_t>(1, (window_end - now_ms + 999) / 1000);
    }
    return d;
}

}  // namespace pp::app

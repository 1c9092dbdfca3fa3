// SPDX-License-Identifier: MIT
#include "app/ratelimit.h"

#include <algorithm>
#include <string>

#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace pp::app {

std::string rate_key(std::string_view bucket, std::string_view id, int64_t window_ms, int64_t now_ms)
{
    const int64_t window = now_ms / window_ms;
    const crypto::Hash256 h = crypto::sha256(crypto::as_bytes(id));
    return "rl:" + std::string(bucket) + ":" + crypto::hex_encode(std::span(h).first(16)) + ":" +
           std::to_string(window);
}

std::string user_at_address(std::string_view user_id, std::string_view remote_addr)
{
    // A newline is in no userId and no address, so no two pairs collide.
    std::string id(user_id);
    id += '\n';
    id += remote_addr;
    return id;
}

RateDecision rate_decide(uint64_t count, int64_t max, int64_t window_ms, int64_t now_ms) noexcept
{
    RateDecision d;
    if (static_cast<int64_t>(count) > max) {
        d.allowed = false;
        const int64_t window_end = (now_ms / window_ms + 1) * window_ms;
        d.retry_after_sec = std::max<int64_t>(1, (window_end - now_ms + 999) / 1000);
    }
    return d;
}

Result<RateDecision> rate_check(store::Cache &cache, std::string_view bucket, std::string_view id, int64_t max,
                                int64_t window_ms, int64_t now_ms)
{
    const uint32_t ttl = static_cast<uint32_t>(window_ms / 1000 + 2);
    auto count = cache.incr(rate_key(bucket, id, window_ms, now_ms), ttl);
    if (!count)
        return count.error();
    return rate_decide(*count, max, window_ms, now_ms);
}

}  // namespace pp::app

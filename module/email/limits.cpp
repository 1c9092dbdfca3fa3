// SPDX-License-Identifier: MIT
#include "email/limits.h"

#include <algorithm>
#include <charconv>

#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace pp::email {
namespace {

std::string window_key(const std::string &base) { return base + ":w"; }

std::string window_part(const std::string &base, int64_t end_ms) { return base + ":" + std::to_string(end_ms); }

std::string counter_key(const Attempt &at, char which)
{
    return window_part(at.base, at.end_ms) + ":" + std::to_string(at.gen) + ":" + which;
}

uint32_t ttl_of(int64_t window_ms) { return static_cast<uint32_t>((window_ms + 999) / 1000); }

// The running window's end, or a new window from now.
Result<int64_t> open_window(store::Cache &cache, const std::string &base, int64_t window_ms, int64_t now_ms)
{
    const std::string key = window_key(base);
    // Two tries: a window seen by add may expire before the get.
    for (int i = 0; i < 2; ++i) {
        auto held = cache.get(key);
        if (!held)
            return held.error();
        if (*held) {
            const int64_t end = cached_number(*held);
            if (end > 0)
                return end;
        }
        const int64_t end = now_ms + window_ms;
        auto added = cache.add(key, std::to_string(end), ttl_of(window_ms));
        if (!added)
            return added.error();
        if (*added)
            return end;
    }
    return Errc::unavailable;
}

}  // namespace

bool attempt_admitted(uint64_t attempts, uint64_t settled, int64_t max) noexcept
{
    if (attempts <= settled)
        return true;
    return attempts - settled <= static_cast<uint64_t>(std::max<int64_t>(0, max));
}

int64_t seconds_until(int64_t end_ms, int64_t now_ms) noexcept
{
    return std::max<int64_t>(1, (end_ms - now_ms + 999) / 1000);
}

int64_t cached_number(const std::optional<std::string> &value) noexcept
{
    int64_t n = 0;
    if (!value)
        return 0;
    auto [p, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
    if (ec != std::errc() || p != value->data() + value->size() || n < 0)
        return 0;
    return n;
}

std::string limit_base(std::string_view bucket, std::string_view id)
{
    const crypto::Hash256 h = crypto::sha256(crypto::as_bytes(id));
    return std::string(bucket) + ":" + crypto::hex_encode(std::span(h).first(16));
}

Result<Attempt> begin_attempt(store::Cache &cache, const std::string &base, const AttemptLimit &limit,
                              int64_t window_ms, int64_t now_ms)
{
    Attempt at;
    at.base = base;
    auto end = open_window(cache, base, window_ms, now_ms);
    if (!end)
        return end.error();
    at.end_ms = *end;
    // The counters outlive the window key a little, never the other way.
    at.ttl_sec = ttl_of(window_ms) + 2;
    auto gen = cache.get(window_part(base, at.end_ms) + ":g");
    if (!gen)
        return gen.error();
    at.gen = cached_number(*gen);
    auto settled = cache.get(counter_key(at, 's'));  // before the increment: see the header
    if (!settled)
        return settled.error();
    at.settled = static_cast<uint64_t>(cached_number(*settled));
    auto attempts = cache.incr(counter_key(at, 'a'), at.ttl_sec);
    if (!attempts)
        return attempts.error();
    at.attempts = *attempts;
    at.admitted = attempt_admitted(at.attempts, at.settled, at.gen == 0 ? limit.max : limit.later_max);
    return at;
}

Result<void> settle(store::Cache &cache, const Attempt &at, bool close_if_clean)
{
    auto s = cache.incr(counter_key(at, 's'), at.ttl_sec);
    if (!s)
        return s.error();
    if (!close_if_clean || at.gen > 0)
        return {};
    auto a = cache.get(counter_key(at, 'a'));
    if (!a)
        return a.error();
    if (static_cast<uint64_t>(cached_number(*a)) <= *s)
        return close_window(cache, at.base);
    return {};
}

Result<void> next_generation(store::Cache &cache, const Attempt &at)
{
    // Only the first caller of a generation moves on: a late one from an
    // older generation must not end the current one.
    auto first = cache.add(counter_key(at, 'x'), "1", at.ttl_sec);
    if (!first)
        return first.error();
    if (!*first)
        return {};
    auto gen = cache.incr(window_part(at.base, at.end_ms) + ":g", at.ttl_sec);
    if (!gen)
        return gen.error();
    return {};
}

Result<void> close_window(store::Cache &cache, const std::string &base)
{
    auto removed = cache.remove(window_key(base));
    if (!removed)
        return removed.error();
    return {};
}

Result<Counted> count_event(store::Cache &cache, const std::string &base, int64_t window_ms, int64_t now_ms)
{
    auto end = open_window(cache, base, window_ms, now_ms);
    if (!end)
        return end.error();
    auto n = cache.incr(window_part(base, *end) + ":n", ttl_of(window_ms) + 2);
    if (!n)
        return n.error();
    return Counted{*n, *end};
}

}  // namespace pp::email

// SPDX-License-Identifier: MIT
// memcached access through libmemcached: binary protocol, ketama consistent
// hashing over a server list, short timeouts (~250 ms) so a dead cache costs
// a request little.
//
// Ownership and threads: a Cache owns one memcached_st (and its sockets). It
// is move-only and NOT thread-safe: each worker process opens one at start
// and reuses it.
//
// Failure model: any server or connection failure is Errc::unavailable, never
// a silent "not found" — the replay set and rate limits depend on that. The
// library retries a failed server after about one second, so a restarted
// memcached is picked up again without reopening the Cache.
//
// Keys must be 1..250 bytes of printable non-space ASCII (callers hash longer
// or user-supplied material). Values are opaque bytes. TTLs are seconds from
// now, at most 30 days (memcached reads larger numbers as absolute times);
// 0 means no expiry.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

struct memcached_st;

namespace pp::store {

class Cache {
public:
    // servers: comma-separated "host:port" ("[v6addr]:port" for IPv6) or
    // absolute unix socket paths. Errc::invalid_argument for an unparsable
    // list. Does not contact the servers.
    static Result<Cache> connect(std::string_view servers);

    Cache(Cache &&) noexcept = default;
    Cache &operator=(Cache &&) noexcept = default;
    Cache(const Cache &) = delete;
    Cache &operator=(const Cache &) = delete;
    ~Cache() = default;

    // Atomic add: true = stored, false = the key already existed.
    Result<bool> add(std::string_view key, std::string_view value, uint32_t ttl_sec);
    Result<void> set(std::string_view key, std::string_view value, uint32_t ttl_sec);
    Result<std::optional<std::string>> get(std::string_view key);
    // false = the key was not there.
    Result<bool> remove(std::string_view key);
    // Atomic +1; a missing key is created at 1 with ttl_sec (the TTL is not
    // extended by later increments: fixed windows).
    Result<uint64_t> incr(std::string_view key, uint32_t ttl_sec);

    // One round trip (a get of a fixed key on the server that owns it);
    // false if it does not answer.
    bool ping();

private:
    struct Free { void operator()(memcached_st *m) const noexcept; };
    explicit Cache(std::unique_ptr<memcached_st, Free> mc) : mc_(std::move(mc)) {}

    std::unique_ptr<memcached_st, Free> mc_;
};

// The key rule above, exposed for callers that build keys.
bool cache_key_valid(std::string_view key) noexcept;

}  // namespace pp::store

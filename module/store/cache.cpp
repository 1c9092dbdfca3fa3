// SPDX-License-Identifier: MIT
#include "store/cache.h"

#include <libmemcached/memcached.h>

#include <cstdlib>
#include <vector>

namespace pp::store {

namespace {

constexpr size_t kMaxKey = 250;
constexpr uint32_t kMaxRelativeTtl = 30 * 24 * 3600;
constexpr uint64_t kTimeoutMs = 250;
// The library retries a server that failed after this many seconds; short
// so a restarted memcached is used again almost at once.
constexpr uint64_t kRetrySec = 1;
constexpr std::string_view kPingKey = "pp:ping";

// Contract errors are the caller's; everything else means the cache could not
// give a trustworthy answer.
Errc map_rc(memcached_return_t rc)
{
    switch (rc) {
    case MEMCACHED_BAD_KEY_PROVIDED:
    case MEMCACHED_KEY_TOO_BIG:
    case MEMCACHED_E2BIG:
    case MEMCACHED_INVALID_ARGUMENTS:
        return Errc::invalid_argument;
    case MEMCACHED_MEMORY_ALLOCATION_FAILURE:
        return Errc::internal;
    default:
        return Errc::unavailable;
    }
}

bool valid_ttl(uint32_t ttl) { return ttl <= kMaxRelativeTtl; }

bool parse_port(std::string_view s, in_port_t *port)
{
    if (s.empty() || s.size() > 5) return false;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + unsigned(c - '0');
    }
    if (v == 0 || v > 65535) return false;
    *port = in_port_t(v);
    return true;
}

bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// One entry of the server list onto mc; false if it does not parse.
bool add_server(memcached_st *mc, std::string_view item)
{
    if (item.empty()) return false;
    if (item.front() == '/') {
        for (char c : item)
            if (static_cast<unsigned char>(c) < 0x20) return false;
        return memcached_server_add_unix_socket(mc, std::string(item).c_str()) == MEMCACHED_SUCCESS;
    }
    std::string_view host, port_text;
    if (item.front() == '[') {  // [v6]:port
        size_t close = item.find(']');
        if (close == std::string_view::npos || close + 1 >= item.size() || item[close + 1] != ':') return false;
        host = item.substr(1, close - 1);
        port_text = item.substr(close + 2);
        for (char c : host)
            if (!(host_char(c) || c == ':' || c == '%')) return false;
    } else {
        size_t colon = item.rfind(':');
        if (colon == std::string_view::npos) return false;
        host = item.substr(0, colon);
        port_text = item.substr(colon + 1);
        for (char c : host)
            if (!host_char(c)) return false;
    }
    in_port_t port = 0;
    if (host.empty() || !parse_port(port_text, &port)) return false;
    return memcached_server_add(mc, std::string(host).c_str(), port) == MEMCACHED_SUCCESS;
}

}  // namespace

bool cache_key_valid(std::string_view key) noexcept
{
    if (key.empty() || key.size() > kMaxKey) return false;
    for (char c : key) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) return false;  // the text protocol would split or reject these
    }
    return true;
}

void Cache::Free::operator()(memcached_st *m) const noexcept
{
    memcached_free(m);
}

Result<Cache> Cache::connect(std::string_view servers)
{
    std::unique_ptr<memcached_st, Free> mc(memcached_create(nullptr));
    if (!mc) return Errc::internal;

    struct Behavior { memcached_behavior_t flag; uint64_t value; };
    const Behavior behaviors[] = {
        {MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1},  // needed for increment_with_initial
        {MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA},
        {MEMCACHED_BEHAVIOR_NO_BLOCK, 1},
        {MEMCACHED_BEHAVIOR_TCP_NODELAY, 1},
        {MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, kTimeoutMs},     // milliseconds
        {MEMCACHED_BEHAVIOR_POLL_TIMEOUT, kTimeoutMs},        // milliseconds
        {MEMCACHED_BEHAVIOR_SND_TIMEOUT, kTimeoutMs * 1000},  // microseconds
        {MEMCACHED_BEHAVIOR_RCV_TIMEOUT, kTimeoutMs * 1000},  // microseconds
        {MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, kRetrySec},
        // Never eject a failed server: remapping its keys would let a replay
        // slip through on another node; callers see unavailable instead.
        {MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 0},
    };
    for (const Behavior &b : behaviors)
        if (memcached_behavior_set(mc.get(), b.flag, b.value) != MEMCACHED_SUCCESS) return Errc::internal;

    std::string_view rest = servers;
    for (;;) {
        size_t comma = rest.find(',');
        std::string_view item = trim(rest.substr(0, comma));
        if (!add_server(mc.get(), item)) return Errc::invalid_argument;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return Cache(std::move(mc));
}

Result<bool> Cache::add(std::string_view key, std::string_view value, uint32_t ttl_sec)
{
    if (!mc_ || !cache_key_valid(key) || !valid_ttl(ttl_sec)) return Errc::invalid_argument;
    memcached_return_t rc =
        memcached_add(mc_.get(), key.data(), key.size(), value.data(), value.size(), time_t(ttl_sec), 0);
    if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_STORED) return true;
    // Binary protocol answers EEXISTS (DATA_EXISTS); text answers NOT_STORED.
    if (rc == MEMCACHED_DATA_EXISTS || rc == MEMCACHED_NOTSTORED) return false;
    return map_rc(rc);
}

Result<void> Cache::set(std::string_view key, std::string_view value, uint32_t ttl_sec)
{
    if (!mc_ || !cache_key_valid(key) || !valid_ttl(ttl_sec)) return Errc::invalid_argument;
    memcached_return_t rc =
        memcached_set(mc_.get(), key.data(), key.size(), value.data(), value.size(), time_t(ttl_sec), 0);
    if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_STORED) return {};
    return map_rc(rc);
}

Result<std::optional<std::string>> Cache::get(std::string_view key)
{
    if (!mc_ || !cache_key_valid(key)) return Errc::invalid_argument;
    size_t len = 0;
    uint32_t flags = 0;
    memcached_return_t rc = MEMCACHED_FAILURE;
    char *raw = memcached_get(mc_.get(), key.data(), key.size(), &len, &flags, &rc);
    std::unique_ptr<char, decltype(&std::free)> owned(raw, &std::free);
    if (rc == MEMCACHED_NOTFOUND) return std::optional<std::string>{};
    if (rc != MEMCACHED_SUCCESS) return map_rc(rc);
    if (!raw) return std::optional<std::string>{std::string{}};  // empty value
    return std::optional<std::string>{std::string(raw, len)};
}

Result<bool> Cache::remove(std::string_view key)
{
    if (!mc_ || !cache_key_valid(key)) return Errc::invalid_argument;
    memcached_return_t rc = memcached_delete(mc_.get(), key.data(), key.size(), 0);
    if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_DELETED) return true;
    if (rc == MEMCACHED_NOTFOUND) return false;
    return map_rc(rc);
}

Result<uint64_t> Cache::incr(std::string_view key, uint32_t ttl_sec)
{
    if (!mc_ || !cache_key_valid(key) || !valid_ttl(ttl_sec)) return Errc::invalid_argument;
    uint64_t value = 0;
    memcached_return_t rc = MEMCACHED_FAILURE;
    // A missing key is created server-side with an add; two first increments
    // racing make the loser's add answer NOT_STORED although the key now
    // exists, so that one simply increments again.
    for (int i = 0; i < 3; ++i) {
        rc = memcached_increment_with_initial(mc_.get(), key.data(), key.size(), 1, 1, time_t(ttl_sec), &value);
        if (rc == MEMCACHED_SUCCESS) return value;
        if (rc != MEMCACHED_NOTSTORED) break;
    }
    return map_rc(rc);
}

bool Cache::ping()
{
    if (!mc_) return false;
    auto r = get(kPingKey);
    return r.ok();
}

}  // namespace pp::store

// SPDX-License-Identifier: MIT
#include "app/context.h"

#include <ctime>

#include "common/clock.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "log/log.h"

namespace pp::app {

int64_t now_sec() noexcept { return wall_sec(); }

int64_t now_ms() noexcept { return wall_ms(); }

int64_t steady_ms() noexcept
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

store::Db *AppContext::db()
{
    if (db_handle)
        return &*db_handle;
    const store::DbConfig c = config::db_config(cfg);
    auto db = store::Db::connect(c);
    if (!db) {
        log::warn("mariadb unreachable");
        return nullptr;
    }
    db_handle.emplace(std::move(*db));
    return &*db_handle;
}

store::Cache *AppContext::cache()
{
    if (cache_handle)
        return &*cache_handle;
    auto c = store::Cache::connect(cfg.memcached_servers);
    if (!c) {
        log::warn("memcached configuration rejected");
        return nullptr;
    }
    cache_handle.emplace(std::move(*c));
    return &*cache_handle;
}

kms::Client *AppContext::kms()
{
    if (kms_handle)
        return &*kms_handle;
    if (cfg.kms_url.empty())
        return nullptr;
    kms::ClientOptions o;
    o.base_url = cfg.kms_url;
    o.api_key = std::string(cfg.kms_api_key.reveal());
    o.timeout_ms = cfg.kms_timeout_ms;
    o.retries = static_cast<int>(cfg.kms_retries);
    auto c = kms::Client::create(std::move(o));
    if (!c)
        return nullptr;
    kms_handle.emplace(std::move(*c));
    return &*kms_handle;
}

std::string AppContext::kid()
{
    if (!cfg.svd_kms_kid.empty())
        return cfg.svd_kms_kid;
    const int64_t now = now_sec();
    if ((!kid_cached.empty() && now - kid_fetched_at < 60) || steady_ms() < kid_retry_at)
        return kid_cached;
    kms::Client *k = kms();
    if (!k)
        return kid_cached;
    auto keys = k->keys();
    if (!keys) {
        // Keep serving the last known kid while the KMS is away, and do not
        // make every begin wait on it again.
        kid_retry_at = steady_ms() + kKmsFailureHoldMs;  // from the failure, not the start of a slow call
        return kid_cached;
    }
    for (const auto &key : *keys) {
        if (key.label != "svd")
            continue;
        const crypto::Hash256 h = crypto::sha256(crypto::as_bytes(key.key_identifier));
        kid_cached = "svd-" + crypto::hex_encode(h).substr(0, 16);
    }
    kid_fetched_at = now;
    if (kid_cached.empty())
        kid_retry_at = steady_ms() + kKmsFailureHoldMs;  // no svd key yet: ask again soon, not per request
    return kid_cached;
}

std::string AppContext::issuer_key()
{
    if (!cfg.issuer_key_id.empty())
        return cfg.issuer_key_id;
    const int64_t now = now_sec();
    if ((!issuer_key_cached.empty() && now - issuer_key_fetched_at < 60) || steady_ms() < issuer_key_retry_at)
        return issuer_key_cached;
    kms::Client *k = kms();
    if (!k)
        return issuer_key_cached;
    auto keys = k->keys();
    if (!keys) {
        issuer_key_retry_at = steady_ms() + kKmsFailureHoldMs;
        return issuer_key_cached;
    }
    // The KMS lists keys oldest first, so the last issuer key is the newest.
    for (const auto &key : *keys)
        if (key.label == "issuer")
            issuer_key_cached = key.key_identifier;
    issuer_key_fetched_at = now;
    return issuer_key_cached;
}

}  // namespace pp::app

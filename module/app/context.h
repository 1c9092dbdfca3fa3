// SPDX-License-Identifier: MIT
// Everything one patchproof-fcgi worker owns for its lifetime: its MariaDB
// connection, memcached handle and KMS client (opened lazily, reopened after
// a failure), plus read-only pointers to the configuration, the route table
// and the pool-wide metrics page. One AppContext per worker process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/config.h"
#include "crypto/base58.h"
#include "http/router.h"
#include "kms/client.h"
#include "server/metrics.h"
#include "store/cache.h"
#include "store/db.h"

namespace pp::app {

struct AppContext;
using AppRouter = http::Router<AppContext>;

struct AppContext {
    const config::Config &cfg;
    const AppRouter &router;
    server::SharedMetrics *metrics;  // may be null (tests without a pool)

    std::optional<store::Db> db_handle;
    std::optional<store::Cache> cache_handle;
    std::optional<kms::Client> kms_handle;

    std::string kid_cached;
    int64_t kid_fetched_at = 0;
    // Default-initialised so main.cpp's aggregate init needs no new fields.
    std::string issuer_key_cached = {};
    int64_t issuer_key_fetched_at = 0;
    // After a failed KMS lookup, no new one before this steady_ms() time
    // (the last known value, if any, is served meanwhile).
    int64_t kid_retry_at = 0;
    int64_t issuer_key_retry_at = 0;

    // /ready's last dependency checks, reused for about a second.
    struct ReadyChecks {
        bool db = false, cache = false, kms = false;
        int64_t at_ms = 0;  // steady clock; 0 = never checked
    };
    ReadyChecks ready_cached = {};

    // nullptr when the service cannot be reached right now (callers answer 503).
    store::Db *db();
    store::Cache *cache();
    kms::Client *kms();

    // CHAIN_NETWORK as a value (config load already refused anything else).
    crypto::Network network() const noexcept
    {
        return cfg.chain_network == "main" ? crypto::Network::main : crypto::Network::test;
    }

    // The active SVD kid: SVD_KMS_KID, else derived from the KMS svd key
    // (cached for a minute). Empty when the KMS cannot be asked.
    std::string kid();

    // The KMS keyIdentifier that signs registrations: ISSUER_KEY_ID, else the
    // KMS's newest "issuer" key (cached for a minute, the last known one kept
    // while the KMS is away). Empty when none is known.
    std::string issuer_key();
};

int64_t now_sec() noexcept;
int64_t now_ms() noexcept;
int64_t steady_ms() noexcept;  // for reuse intervals; not wall time

// How long a failed KMS lookup (kid, issuer key) is remembered, and how long
// one worker reuses /ready's dependency checks.
inline constexpr int64_t kKmsFailureHoldMs = 5000;
inline constexpr int64_t kReadyReuseMs = 1000;

}  // namespace pp::app

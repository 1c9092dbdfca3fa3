// SPDX-License-Identifier: MIT
// Process configuration from the environment, read once at start-up through
// one typed table (name, kind, default, limits). Secrets are copied into
// SecretString (libsodium guarded, locked, read-only memory) and can never be
// printed. Not thread-safe; the master loads it before forking and workers
// only read it.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pp::store {
struct DbConfig;  // store/db.h
}

namespace pp::config {

enum class Env { development, test, production };

// Bytes held in sodium_malloc memory: guard pages, mlock'ed, wiped on free,
// read-only after construction. No operator<<, no implicit string.
class SecretString {
public:
    SecretString() = default;
    explicit SecretString(std::string_view value);
    ~SecretString();
    SecretString(const SecretString &) = delete;
    SecretString &operator=(const SecretString &) = delete;
    SecretString(SecretString &&other) noexcept;
    SecretString &operator=(SecretString &&other) noexcept;

    bool empty() const noexcept { return size_ == 0; }
    size_t size() const noexcept { return size_; }
    std::span<const uint8_t> bytes() const noexcept { return {data_, size_}; }
    // For APIs that need text (an HTTP header); never log the result.
    std::string_view reveal() const noexcept { return {reinterpret_cast<const char *>(data_), size_}; }

private:
    uint8_t *data_ = nullptr;
    size_t size_ = 0;
};

struct Config {
    Env env = Env::development;

    // Service
    std::string deploy_sha = "unknown";
    std::vector<std::string> cors_allowed_origins;
    bool metrics_require_api_key = false;
    std::string chain_network = "test";

    // Credentials
    SecretString api_key, api_key_previous;
    SecretString jwt_secret, jwt_secret_previous;
    std::string jwt_issuer, jwt_audience;

    // MariaDB
    std::string db_host = "127.0.0.1";
    int64_t db_port = 3306;
    std::string db_socket, db_user, db_name = "patchproof";
    SecretString db_password;

    // memcached
    std::string memcached_servers = "127.0.0.1:11211";

    // KMS
    std::string kms_url;
    SecretString kms_api_key;
    int64_t kms_timeout_ms = 2000;
    int64_t kms_retries = 2;

    // SVD
    int64_t svd_challenge_ttl_sec = 180;
    int64_t svd_clock_skew_sec = 30;
    int64_t jwt_ttl_sec = 900;
    std::string svd_kms_kid;
    int64_t svd_begin_max = 20, svd_begin_window_ms = 60000;
    int64_t svd_complete_max = 30, svd_complete_window_ms = 60000;
    int64_t public_api_max = 600, public_api_window_ms = 60000;

    // Chain and money (DESIGN.md §4)
    std::string chain_api_url;             // WhatsOnChain-compatible base URL
    SecretString woc_api_key;
    int64_t chain_timeout_ms = 5000;
    int64_t fee_per_kb = 500;              // satoshis; the settings table overrides it
    std::string utxo_change_address;       // P2PKH for CHAIN_NETWORK
    std::string utxo_change_key_id;        // KMS keyIdentifier of that address
    int64_t utxo_lock_timeout_min = 10;
    int64_t min_utxo_count = 10;
    int64_t utxo_split_size_sats = 10000;
    std::string issuer_key_id;             // empty: the KMS's newest issuer key
    std::string utxo_funding_address;      // where operators top the pool up (P2PKH)
    std::string utxo_funding_key_id;       // KMS keyIdentifier of that address
    int64_t utxo_min_confirmations = 1;    // outside outputs wait in 'unconfirmed' until then
    int64_t dust_threshold_sats = 1000;    // available outputs below this are swept
    int64_t dust_sweep_limit = 50;         // inputs of one sweep transaction
    int64_t max_split_outputs = 50;        // outputs of one split transaction

    // Admin runs (routes and CLI, DESIGN.md §3 Admin)
    int64_t admin_wait_sec = 20;           // wait for the worker to sign, then 202
    int64_t admin_lease_sec = 60;          // lease TTL, renewed while a run waits

    // Patches and POS
    SecretString content_master_key;       // 64 hex chars (32 bytes)
    int64_t claim_intent_ttl_ms = 180000;

    // Email code login (DESIGN.md §3) and its outbox
    SecretString auth_outbox_key;          // 64 hex chars: secretbox key of outbox rows
    int64_t auth_code_ttl_sec = 900;
    int64_t auth_request_window_sec = 60;
    int64_t auth_max_failed = 5;           // per identifier and client address
    int64_t auth_failed_window_sec = 600;
    int64_t auth_max_failed_total = 20;    // per identifier from anywhere: codes void
    int64_t auth_requests_per_address = 10;  // code requests per client address per AUTH_FAILED_WINDOW_SEC
    std::string smtp_url;                  // smtp://host:port or smtps://; empty: mail not sent
    std::string smtp_user;
    SecretString smtp_password;
    std::string email_from = "PatchProof <no-reply@patchproof.invalid>";
    int64_t smtp_timeout_ms = 10000;

    // Jobs (patchproof-worker)
    int64_t job_max_attempts = 6;
    int64_t job_lease_sec = 30;
    int64_t job_backoff_ms = 500;          // first retry; doubles each attempt
    int64_t worker_poll_ms = 200;
};

using Getenv = std::function<const char *(const char *)>;

// The process reading the table. Each role has its own environment file
// (DESIGN.md §7), so production refuses to start only without the secrets
// of its own role: api (patchproof-fcgi) needs API_KEY, JWT_SECRET, DB_USER,
// DB_PASSWORD, KMS_URL and KMS_API_KEY; worker (patchproof-worker) the DB
// credentials and its KMS_URL/KMS_API_KEY; admin (the CLI) the DB
// credentials.
enum class Role { api, worker, admin };

// Loads every entry of the table. On failure *error_line says, in one line
// without any value, which variable is missing or malformed.
Result<Config> load(const Getenv &getenv, std::string *error_line, Role role = Role::api);

// load() from this process's environment, then scrub_env() every secret
// the table reads (also when loading fails), so none lingers in environ.
Result<Config> load_from_environment(Role role, std::string *error_line);

// Overwrites NAME's value in place in the environment block (the bytes
// /proc/PID/environ shows, which unsetenv alone leaves) and unsets it.
void scrub_env(const char *name) noexcept;

// The variables the table reads as secrets (API_KEY, JWT_SECRET, …).
std::vector<const char *> secret_names();

// Minimum lengths refused below in production.
inline constexpr size_t kMinApiKeyBytes = 32;
inline constexpr size_t kMinJwtSecretBytes = 32;

// True for an https URL, or an http one whose host is loopback.
bool url_is_private_or_tls(std::string_view url) noexcept;

std::string_view env_name(Env e) noexcept;

// The MariaDB connection of `cfg` (host, port, socket, user, password,
// database) as store::Db takes it; timeouts keep DbConfig's defaults. The
// password is copied out of its SecretString into DbConfig's std::string.
store::DbConfig db_config(const Config &cfg);

}  // namespace pp::config

// SPDX-License-Identifier: MIT
#include "config/config.h"

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

#include <sodium.h>

#include "store/db.h"

namespace pp::config {

SecretString::SecretString(std::string_view value)
{
    // sodium_malloc needs the library initialised; sodium_init is idempotent.
    if (value.empty() || sodium_init() < 0)
        return;
    data_ = static_cast<uint8_t *>(sodium_malloc(value.size()));
    if (!data_)
        return;  // leaves the secret empty; load() then reports it missing
    std::memcpy(data_, value.data(), value.size());
    size_ = value.size();
    sodium_mprotect_readonly(data_);
}

SecretString::~SecretString()
{
    if (data_)
        sodium_free(data_);  // wipes before unmapping
}

SecretString::SecretString(SecretString &&other) noexcept : data_(other.data_), size_(other.size_)
{
    other.data_ = nullptr;
    other.size_ = 0;
}

SecretString &SecretString::operator=(SecretString &&other) noexcept
{
    if (this != &other) {
        if (data_)
            sodium_free(data_);
        data_ = other.data_;
        size_ = other.size_;
        other.data_ = nullptr;
        other.size_ = 0;
    }
    return *this;
}

std::string_view env_name(Env e) noexcept
{
    switch (e) {
    case Env::development: return "development";
    case Env::test: return "test";
    case Env::production: return "production";
    }
    return "unknown";
}

namespace {

enum class Kind { text, integer, boolean, secret, list, env };

struct Entry {
    const char *name;
    Kind kind;
    int64_t min = 0, max = 0;  // integers only
    std::function<void(Config &, std::string_view)> set_text = nullptr;
    int64_t Config::*integer = nullptr;
    bool Config::*boolean = nullptr;
    SecretString Config::*secret = nullptr;
};

Entry text(const char *name, std::string Config::*field)
{
    Entry e{name, Kind::text};
    e.set_text = [field](Config &c, std::string_view v) { c.*field = std::string(v); };
    return e;
}

Entry integer(const char *name, int64_t Config::*field, int64_t min, int64_t max)
{
    Entry e{name, Kind::integer, min, max};
    e.integer = field;
    return e;
}

Entry boolean(const char *name, bool Config::*field)
{
    Entry e{name, Kind::boolean};
    e.boolean = field;
    return e;
}

Entry secret(const char *name, SecretString Config::*field)
{
    Entry e{name, Kind::secret};
    e.secret = field;
    return e;
}

std::vector<std::string> split_list(std::string_view v)
{
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= v.size()) {
        size_t comma = v.find(',', start);
        if (comma == std::string_view::npos)
            comma = v.size();
        std::string_view item = v.substr(start, comma - start);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (!item.empty())
            out.emplace_back(item);
        start = comma + 1;
    }
    return out;
}

const std::vector<Entry> &table()
{
    // Defaults live in the Config member initializers; this table says how
    // each variable is parsed and bounded.
    static const std::vector<Entry> entries = [] {
        std::vector<Entry> t;
        Entry env{"PATCHPROOF_ENV", Kind::env};
        t.push_back(env);
        t.push_back(text("DEPLOY_SHA", &Config::deploy_sha));
        Entry cors{"CORS_ALLOWED_ORIGINS", Kind::list};
        cors.set_text = [](Config &c, std::string_view v) { c.cors_allowed_origins = split_list(v); };
        t.push_back(cors);
        t.push_back(boolean("METRICS_REQUIRE_API_KEY", &Config::metrics_require_api_key));
        t.push_back(text("CHAIN_NETWORK", &Config::chain_network));
        t.push_back(secret("API_KEY", &Config::api_key));
        t.push_back(secret("API_KEY_PREVIOUS", &Config::api_key_previous));
        t.push_back(secret("JWT_SECRET", &Config::jwt_secret));
        t.push_back(secret("JWT_SECRET_PREVIOUS", &Config::jwt_secret_previous));
        t.push_back(text("JWT_ISSUER", &Config::jwt_issuer));
        t.push_back(text("JWT_AUDIENCE", &Config::jwt_audience));
        t.push_back(text("DB_HOST", &Config::db_host));
        t.push_back(integer("DB_PORT", &Config::db_port, 1, 65535));
        t.push_back(text("DB_SOCKET", &Config::db_socket));
        t.push_back(text("DB_USER", &Config::db_user));
        t.push_back(secret("DB_PASSWORD", &Config::db_password));
        t.push_back(text("DB_NAME", &Config::db_name));
        t.push_back(text("MEMCACHED_SERVERS", &Config::memcached_servers));
        t.push_back(text("KMS_URL", &Config::kms_url));
        t.push_back(secret("KMS_API_KEY", &Config::kms_api_key));
        t.push_back(integer("KMS_TIMEOUT_MS", &Config::kms_timeout_ms, 50, 60000));
        t.push_back(integer("KMS_RETRIES", &Config::kms_retries, 0, 10));
        t.push_back(integer("SVD_CHALLENGE_TTL_SEC", &Config::svd_challenge_ttl_sec, 10, 3600));
        t.push_back(integer("SVD_CLOCK_SKEW_SEC", &Config::svd_clock_skew_sec, 0, 600));
        t.push_back(integer("JWT_TTL_SEC", &Config::jwt_ttl_sec, 30, 86400));
        t.push_back(text("SVD_KMS_KID", &Config::svd_kms_kid));
        t.push_back(integer("SVD_BEGIN_MAX", &Config::svd_begin_max, 1, 1000000));
        t.push_back(integer("SVD_BEGIN_WINDOW_MS", &Config::svd_begin_window_ms, 1000, 86400000));
        t.push_back(integer("SVD_COMPLETE_MAX", &Config::svd_complete_max, 1, 1000000));
        t.push_back(integer("SVD_COMPLETE_WINDOW_MS", &Config::svd_complete_window_ms, 1000, 86400000));
        t.push_back(integer("PUBLIC_API_MAX", &Config::public_api_max, 1, 100000000));
        t.push_back(integer("PUBLIC_API_WINDOW_MS", &Config::public_api_window_ms, 1000, 86400000));
        t.push_back(text("CHAIN_API_URL", &Config::chain_api_url));
        t.push_back(secret("WOC_API_KEY", &Config::woc_api_key));
        t.push_back(integer("CHAIN_TIMEOUT_MS", &Config::chain_timeout_ms, 100, 120000));
        t.push_back(integer("FEE_PER_KB", &Config::fee_per_kb, 0, 100000000));
        t.push_back(text("UTXO_CHANGE_ADDRESS", &Config::utxo_change_address));
        t.push_back(text("UTXO_CHANGE_KEY_ID", &Config::utxo_change_key_id));
        t.push_back(integer("UTXO_LOCK_TIMEOUT_MIN", &Config::utxo_lock_timeout_min, 1, 1440));
        t.push_back(integer("MIN_UTXO_COUNT", &Config::min_utxo_count, 0, 100000));
        t.push_back(integer("UTXO_SPLIT_SIZE_SATS", &Config::utxo_split_size_sats, 546, 2100000000000000LL));
        t.push_back(text("ISSUER_KEY_ID", &Config::issuer_key_id));
        t.push_back(text("UTXO_FUNDING_ADDRESS", &Config::utxo_funding_address));
        t.push_back(text("UTXO_FUNDING_KEY_ID", &Config::utxo_funding_key_id));
        t.push_back(integer("UTXO_MIN_CONFIRMATIONS", &Config::utxo_min_confirmations, 0, 1000));
        t.push_back(integer("DUST_THRESHOLD_SATS", &Config::dust_threshold_sats, 1, 2100000000000000LL));
        t.push_back(integer("DUST_SWEEP_LIMIT", &Config::dust_sweep_limit, 2, 1000));
        t.push_back(integer("MAX_SPLIT_OUTPUTS", &Config::max_split_outputs, 1, 1000));
        // ≤ 60: an admin route answers within nginx's 90 s read timeout for /v1/admin/.
        t.push_back(integer("ADMIN_WAIT_SEC", &Config::admin_wait_sec, 0, 60));
        t.push_back(integer("ADMIN_LEASE_SEC", &Config::admin_lease_sec, 2, 3600));
        t.push_back(secret("AUTH_OUTBOX_KEY", &Config::auth_outbox_key));
        t.push_back(integer("AUTH_CODE_TTL_SEC", &Config::auth_code_ttl_sec, 30, 86400));
        t.push_back(integer("AUTH_REQUEST_WINDOW_SEC", &Config::auth_request_window_sec, 1, 86400));
        t.push_back(integer("AUTH_MAX_FAILED", &Config::auth_max_failed, 1, 1000));
        t.push_back(integer("AUTH_FAILED_WINDOW_SEC", &Config::auth_failed_window_sec, 1, 86400));
        t.push_back(integer("AUTH_MAX_FAILED_TOTAL", &Config::auth_max_failed_total, 1, 100000));
        t.push_back(integer("AUTH_REQUESTS_PER_ADDRESS", &Config::auth_requests_per_address, 1, 100000));
        t.push_back(text("SMTP_URL", &Config::smtp_url));
        t.push_back(text("SMTP_USER", &Config::smtp_user));
        t.push_back(secret("SMTP_PASSWORD", &Config::smtp_password));
        t.push_back(text("EMAIL_FROM", &Config::email_from));
        t.push_back(integer("SMTP_TIMEOUT_MS", &Config::smtp_timeout_ms, 100, 120000));
        t.push_back(secret("CONTENT_MASTER_KEY", &Config::content_master_key));
        t.push_back(integer("CLAIM_INTENT_TTL_MS", &Config::claim_intent_ttl_ms, 1000, 86400000));
        t.push_back(integer("JOB_MAX_ATTEMPTS", &Config::job_max_attempts, 1, 100));
        t.push_back(integer("JOB_LEASE_SEC", &Config::job_lease_sec, 2, 3600));
        t.push_back(integer("JOB_BACKOFF_MS", &Config::job_backoff_ms, 10, 600000));
        t.push_back(integer("WORKER_POLL_MS", &Config::worker_poll_ms, 10, 60000));
        return t;
    }();
    return entries;
}

bool parse_int(std::string_view v, int64_t &out)
{
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc() && ptr == v.data() + v.size();
}

// Why production must not start with c in this role; empty when it may.
std::string production_refusal(const Config &c, Role role)
{
    std::string missing;
    auto need = [&](bool ok, const char *what) {
        if (!ok) missing += missing.empty() ? what : std::string(", ") + what;
    };
    if (role == Role::api) {
        need(c.api_key.size() >= kMinApiKeyBytes, "API_KEY (at least 32 bytes)");
        need(c.jwt_secret.size() >= kMinJwtSecretBytes, "JWT_SECRET (at least 32 bytes)");
    }
    need(!c.db_user.empty(), "DB_USER");
    need(!c.db_password.empty(), "DB_PASSWORD");
    if (role != Role::admin) {
        need(!c.kms_url.empty(), "KMS_URL");
        need(!c.kms_api_key.empty(), "KMS_API_KEY");
    }
    if (!missing.empty())
        return "production refuses to start without: " + missing;
    // Whatever a role does read is as strong as the api role requires, a
    // rotation's previous secret as the current one, and the KMS credential
    // never crosses a network in clear text.
    if (!c.api_key.empty() && c.api_key.size() < kMinApiKeyBytes)
        return "API_KEY must be at least 32 bytes in production";
    if (!c.jwt_secret.empty() && c.jwt_secret.size() < kMinJwtSecretBytes)
        return "JWT_SECRET must be at least 32 bytes in production";
    if (!c.api_key_previous.empty() && c.api_key_previous.size() < kMinApiKeyBytes)
        return "API_KEY_PREVIOUS must be at least 32 bytes in production";
    if (!c.jwt_secret_previous.empty() && c.jwt_secret_previous.size() < kMinJwtSecretBytes)
        return "JWT_SECRET_PREVIOUS must be at least 32 bytes in production";
    if (!c.kms_url.empty() && !url_is_private_or_tls(c.kms_url))
        return "KMS_URL must be https, or http to a loopback host, in production";
    return {};
}

}  // namespace

Result<Config> load(const Getenv &getenv, std::string *error_line, Role role)
{
    Config c;
    auto fail = [&](std::string line) {
        if (error_line)
            *error_line = std::move(line);
        return Errc::invalid_argument;
    };
    for (const Entry &e : table()) {
        const char *raw = getenv(e.name);
        if (!raw)
            continue;
        std::string_view v(raw);
        switch (e.kind) {
        case Kind::env:
            if (v == "development") c.env = Env::development;
            else if (v == "test") c.env = Env::test;
            else if (v == "production") c.env = Env::production;
            else return fail(std::string(e.name) + " must be development, test or production");
            break;
        case Kind::text:
        case Kind::list:
            e.set_text(c, v);
            break;
        case Kind::integer: {
            int64_t n = 0;
            if (!parse_int(v, n) || n < e.min || n > e.max)
                return fail(std::string(e.name) + " must be an integer from " + std::to_string(e.min) + " to " +
                            std::to_string(e.max));
            c.*e.integer = n;
            break;
        }
        case Kind::boolean:
            if (v == "1" || v == "true") c.*e.boolean = true;
            else if (v == "0" || v == "false" || v.empty()) c.*e.boolean = false;
            else return fail(std::string(e.name) + " must be 0 or 1");
            break;
        case Kind::secret:
            c.*e.secret = SecretString(v);
            if (!v.empty() && (c.*e.secret).empty())
                return fail(std::string("cannot lock memory for ") + e.name);
            break;
        }
    }
    if (c.chain_network != "main" && c.chain_network != "test")
        return fail("CHAIN_NETWORK must be main or test");

    if (c.env == Env::production) {
        if (std::string refusal = production_refusal(c, role); !refusal.empty())
            return fail(std::move(refusal));
    }
    if (!c.content_master_key.empty() && c.content_master_key.size() != 64)
        return fail("CONTENT_MASTER_KEY must be 64 hex characters");
    if (!c.auth_outbox_key.empty() && c.auth_outbox_key.size() != 64)
        return fail("AUTH_OUTBOX_KEY must be 64 hex characters");
    if (c.env != Env::production && !c.jwt_secret.empty() && c.jwt_secret.size() < 32) {
        return fail("JWT_SECRET must be at least 32 bytes");
    }
    return c;
}

std::vector<const char *> secret_names()
{
    std::vector<const char *> out;
    for (const Entry &e : table())
        if (e.kind == Kind::secret)
            out.push_back(e.name);
    return out;
}

void scrub_env(const char *name) noexcept
{
    const size_t n = std::strlen(name);
    // Every entry of that name (a block may hold one twice), wiped where it
    // lies: /proc/PID/environ reads the original block, not `environ`.
    for (char **env = ::environ; env && *env; ++env) {
        char *kv = *env;
        if (std::strncmp(kv, name, n) == 0 && kv[n] == '=')
            sodium_memzero(kv + n + 1, std::strlen(kv + n + 1));
    }
    ::unsetenv(name);
}

Result<Config> load_from_environment(Role role, std::string *error_line)
{
    auto cfg = load([](const char *n) { return std::getenv(n); }, error_line, role);
    for (const char *name : secret_names())
        scrub_env(name);
    return cfg;
}

bool url_is_private_or_tls(std::string_view url) noexcept
{
    constexpr std::string_view https = "https://", http = "http://";
    if (url.substr(0, https.size()) == https)
        return url.size() > https.size();
    if (url.substr(0, http.size()) != http)
        return false;
    std::string_view rest = url.substr(http.size());
    rest = rest.substr(0, rest.find_first_of("/?#"));
    if (rest.find('@') != std::string_view::npos)
        return false;  // userinfo: not a form we produce; refuse rather than parse it
    std::string_view host;
    if (!rest.empty() && rest.front() == '[') {
        const size_t close = rest.find(']');
        if (close == std::string_view::npos)
            return false;
        host = rest.substr(1, close - 1);
        return host == "::1";
    }
    host = rest.substr(0, rest.find(':'));
    if (host == "localhost")
        return true;
    // 127.0.0.0/8 as a dotted quad of decimal octets.
    if (host.substr(0, 4) != "127.")
        return false;
    int parts = 0;
    size_t i = 0;
    while (i <= host.size()) {
        size_t dot = host.find('.', i);
        if (dot == std::string_view::npos)
            dot = host.size();
        const std::string_view part = host.substr(i, dot - i);
        int v = -1;
        auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
        if (part.empty() || part.size() > 3 || ec != std::errc() || ptr != part.data() + part.size() || v > 255)
            return false;
        ++parts;
        i = dot + 1;
    }
    return parts == 4;
}

store::DbConfig db_config(const Config &cfg)
{
    store::DbConfig dc;
    dc.host = cfg.db_host;
    dc.port = static_cast<unsigned>(cfg.db_port);
    dc.unix_socket = cfg.db_socket;
    dc.user = cfg.db_user;
    dc.password = std::string(cfg.db_password.reveal());
    dc.database = cfg.db_name;
    return dc;
}

}  // namespace pp::config

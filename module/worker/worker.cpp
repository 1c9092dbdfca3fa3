// SPDX-License-Identifier: MIT
#include "worker/worker.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <span>
#include <utility>

#include "chain/client.h"
#include "common/json.h"
#include "crypto/base58.h"
#include "crypto/canonical_json.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/tx.h"
#include "kms/client.h"
#include "log/log.h"
#include "store/db.h"
#include "worker/runner.h"

namespace pp::worker {

namespace {

volatile sig_atomic_t g_stop = 0;

void on_stop_signal(int) { g_stop = 1; }

constexpr int64_t kDbDownMaxSleepMs = 5000;  // ceiling of the connect backoff
constexpr int64_t kMaxBackoffMs = 3'600'000;

std::string default_id()
{
    char host[256] = {0};
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    std::string id = std::string(host[0] ? host : "worker") + ":" + std::to_string(getpid());
    if (id.size() > 128)
        id.erase(0, id.size() - 128);
    return id;
}

}  // namespace

Result<std::optional<store::JobStep>> crash_step_from_env(config::Env env, const char *value)
{
    if (env != config::Env::test || value == nullptr || *value == '\0')
        return std::optional<store::JobStep>();
    auto step = store::job_step_from_text(value);
    if (!step || *step == store::JobStep::queued || *step == store::JobStep::failed)
        return Errc::invalid_argument;
    return std::optional<store::JobStep>(*step);
}

int64_t backoff_delay_ms(int64_t base_ms, uint32_t attempts) noexcept
{
    const uint32_t shift = std::min<uint32_t>(attempts, 20);
    const int64_t base = std::clamp<int64_t>(base_ms, 1, kMaxBackoffMs);
    // base <= 3.6e6 and 2^20 ~ 1e6: the product fits in int64_t.
    return std::min<int64_t>(base << shift, kMaxBackoffMs);
}

Result<std::string> record_hash_hex(std::string_view record_json)
{
    json_error_t err;
    JsonPtr root(json_loadb(record_json.data(), record_json.size(), JSON_REJECT_DUPLICATES, &err));
    if (!root || !json_is_object(root.get()))
        return Errc::bad_json;
    auto canon = crypto::canonical_json(root.get(), crypto::KeyOrder::sorted);
    if (!canon)
        return canon.error();
    return crypto::hex_encode(crypto::sha256(crypto::as_bytes(*canon)));
}

void install_signal_handlers()
{
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a sleep returns early
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    // A dropped HTTP connection must be an error value, not a dead process.
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, nullptr);
}

bool stop_requested() noexcept { return g_stop != 0; }

namespace {

int config_error(const char *line)
{
    JsonPtr f(json_pack("{s:s}", "problem", line));
    log::error("patchproof-worker cannot start", f.get());
    return 1;
}

// Connects, retrying with backoff until MariaDB answers or a stop is
// requested (then nullopt).
std::optional<store::Db> connect_db(const config::Config &cfg)
{
    const store::DbConfig dc = config::db_config(cfg);
    std::optional<store::Db> db;
    int64_t wait = cfg.worker_poll_ms;
    while (!db && !g_stop) {
        unsigned err = 0;
        auto c = store::Db::connect(dc, &err);
        if (c) {
            db.emplace(std::move(*c));
            break;
        }
        JsonPtr f(json_pack("{s:s,s:i,s:I}", "error", std::string(errc_name(c.error())).c_str(), "mysql_errno",
                            static_cast<int>(err), "retry_ms", static_cast<json_int_t>(wait)));
        log::warn("cannot connect to MariaDB; retrying", f.get());
        detail::sleep_ms(wait);
        wait = std::min<int64_t>(wait * 2, kDbDownMaxSleepMs);
    }
    return db;
}

}  // namespace

int run(const config::Config &cfg, const WorkerOptions &opt)
{
    auto crash = crash_step_from_env(cfg.env, std::getenv("PP_TEST_CRASH_AFTER_STEP"));
    if (!crash)
        return config_error("PP_TEST_CRASH_AFTER_STEP must be inputs_locked, signed, broadcast or done");
    if (cfg.kms_url.empty())
        return config_error("KMS_URL is required");
    if (cfg.chain_api_url.empty())
        return config_error("CHAIN_API_URL is required");
    auto net = crypto::parse_network(cfg.chain_network);
    if (!net)
        return config_error("CHAIN_NETWORK must be main or test");
    auto change_hash = crypto::parse_p2pkh_address(cfg.utxo_change_address, *net);
    if (!change_hash)
        return config_error("UTXO_CHANGE_ADDRESS must be a P2PKH address for CHAIN_NETWORK");
    // The change output goes back into the pool under this key: it must be
    // the key of the change address, or the pool would hold unspendable coins.
    auto change_key = crypto::hex_decode(cfg.utxo_change_key_id);
    if (!change_key || change_key->size() != 33 ||
        crypto::pubkey_hash(std::span<const uint8_t, 33>(change_key->data(), 33)) != *change_hash)
        return config_error("UTXO_CHANGE_KEY_ID must be the compressed public key of UTXO_CHANGE_ADDRESS");

    const std::string id = opt.id.empty() ? default_id() : opt.id;
    if (id.size() > 128)
        return config_error("--id must be at most 128 characters");

    kms::ClientOptions ko;
    ko.base_url = cfg.kms_url;
    ko.api_key = std::string(cfg.kms_api_key.reveal());
    ko.timeout_ms = cfg.kms_timeout_ms;
    ko.retries = static_cast<int>(cfg.kms_retries);
    auto kms = kms::Client::create(std::move(ko));
    if (!kms)
        return config_error("cannot create the KMS client");

    chain::ChainOptions co;
    co.base_url = cfg.chain_api_url;
    co.network = cfg.chain_network;
    co.api_key = std::string(cfg.woc_api_key.reveal());
    co.timeout_ms = cfg.chain_timeout_ms;
    auto chain = chain::Client::create(std::move(co));
    if (!chain)
        return config_error("cannot create the chain client");

    std::optional<store::Db> db = connect_db(cfg);
    if (!db)
        return 0;  // stopped before the database came up

    JsonPtr f(json_pack("{s:s,s:s,s:b}", "worker", id.c_str(), "network", cfg.chain_network.c_str(), "test_hook",
                        crash->has_value()));
    log::info("patchproof-worker starting", f.get());
    detail::Worker w(cfg, id, std::move(*crash), std::move(*db), std::move(*kms), std::move(*chain),
                     crypto::p2pkh_script(*change_hash), *net);
    return w.loop(opt.once);
}

}  // namespace pp::worker

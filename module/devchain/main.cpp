// SPDX-License-Identifier: MIT
// patchproof-devchain: a validating local Bitcoin SV chain for development
// and tests (like anvil or ganache for other chains), never for production.
// A FastCGI program behind its own nginx listener serving the WhatsOnChain
// subset of DESIGN.md §4, {net} = DEVCHAIN_NETWORK ("main" | "test"):
//   POST /v1/bsv/{net}/tx/raw                  {"txhex"} -> "txid" | 400 "node text"
//   GET  /v1/bsv/{net}/address/{addr}/unspent  [{height,tx_pos,tx_hash,value,confirmations}]
//   GET  /v1/bsv/{net}/chain/info              {chain,blocks,bestblockhash}
//   GET  /v1/bsv/{net}/tx/hash/{txid}          {txid,hex,blockheight,confirmations}
//   POST /devchain/mine                        [{"blocks":n}] -> {blocks,mined}
//   GET  /health                               {"status":"ok"}
// Validation rules and concurrency: module/devchain/chainstate.h. Errors
// that are not a node's reject text use the contract's one shape. Each
// request is logged as one JSON line; bodies never are.
//
// Process model: the master reads the configuration, runs the crypto
// self-test, creates the database if missing, applies sql/devchain
// migrations and the one-time genesis, then forks the workers
// (module/server/prefork.h). Each worker opens its own MariaDB connection.
#include <fcgiapp.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <sodium.h>

#include "common/args.h"
#include "common/json.h"
#include "config/config.h"
#include "crypto/base58.h"
#include "crypto/encoding.h"
#include "crypto/secp256k1.h"
#include "crypto/selftest.h"
#include "devchain/chainstate.h"
#include "http/body.h"
#include "http/fcgi.h"
#include "http/http.h"
#include "http/router.h"
#include "http/serve.h"
#include "log/log.h"
#include "server/prefork.h"
#include "store/db.h"
#include "store/migrate.h"

namespace {

using namespace pp;
using http::Request;
using http::Response;

// A transaction up to ~1 MB travels as 2 MB of hex.
constexpr size_t kTxBodyLimit = 2 * 1024 * 1024 + 1024;
constexpr size_t kMineBodyLimit = 1024;
constexpr int kMaxMineBlocks = 100;
constexpr size_t kMaxUnspentRows = 10000;
constexpr int kMaxWorkers = 64;

// --- configuration -------------------------------------------------------------

struct Settings {
    std::string listen;
    int workers = 2;
    std::string sql_dir;
    store::DbConfig db;
    std::string network_name = "test";
    crypto::Network network = crypto::Network::test;
    int64_t min_fee_per_kb = 250;
    int64_t block_sec = 0;
    std::string genesis_address;
    int64_t genesis_outputs = 10;
    int64_t genesis_sats = 1'000'000;
};

// Integer variables: name, target, bounds (the default is the target's
// initial value).
struct IntVar {
    const char *name;
    int64_t Settings::*field;
    int64_t min, max;
};

constexpr IntVar kIntVars[] = {
    {"DEVCHAIN_MIN_FEE_PER_KB", &Settings::min_fee_per_kb, 0, 100'000'000},
    {"DEVCHAIN_BLOCK_SEC", &Settings::block_sec, 0, 86'400},
    {"DEVCHAIN_GENESIS_OUTPUTS", &Settings::genesis_outputs, 1, 10'000},
    {"DEVCHAIN_GENESIS_SATS", &Settings::genesis_sats, 1, int64_t(crypto::MAX_MONEY)},
};

std::string env_or(const char *name, std::string fallback)
{
    const char *v = std::getenv(name);
    return v && *v ? std::string(v) : fallback;
}

bool valid_db_name(std::string_view name)
{
    if (name.empty() || name.size() > 64) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    return true;
}

// The sql/devchain directory: --sql-dir, DEVCHAIN_SQL_DIR, else the usual
// places relative to the working directory and the installed package.
std::string find_sql_dir(const std::string &flag)
{
    if (!flag.empty()) return flag;
    if (const char *e = std::getenv("DEVCHAIN_SQL_DIR"); e && *e) return e;
    for (const char *candidate : {"sql/devchain", "/usr/share/patchproof/sql/devchain"}) {
        std::error_code ec;
        if (std::filesystem::is_directory(candidate, ec)) return candidate;
    }
    return {};
}

// One line for the operator naming the first bad variable, or empty.
std::string load_settings(Settings &s)
{
    s.db.host = env_or("DB_HOST", "127.0.0.1");
    s.db.unix_socket = env_or("DB_SOCKET", "");
    s.db.user = env_or("DB_USER", "");
    s.db.password = env_or("DB_PASSWORD", "");
    s.db.database = env_or("DEVCHAIN_DB_NAME", "patchproof_devchain");
    if (!valid_db_name(s.db.database)) return "DEVCHAIN_DB_NAME must be 1-64 of [A-Za-z0-9_]";
    if (const char *p = std::getenv("DB_PORT"); p && *p) {
        int64_t port = 0;
        if (!parse_int(p, port) || port < 1 || port > 65535) return "DB_PORT must be 1..65535";
        s.db.port = unsigned(port);
    }
    s.network_name = env_or("DEVCHAIN_NETWORK", "test");
    auto net = crypto::parse_network(s.network_name);
    if (!net) return "DEVCHAIN_NETWORK must be main or test";
    s.network = *net;
    s.network_name = *net == crypto::Network::main ? "main" : "test";
    for (const IntVar &v : kIntVars) {
        const char *raw = std::getenv(v.name);
        if (!raw || !*raw) continue;
        int64_t n = 0;
        if (!parse_int(raw, n) || n < v.min || n > v.max)
            return std::string(v.name) + " must be an integer in " + std::to_string(v.min) + ".." +
                   std::to_string(v.max);
        s.*(v.field) = n;
    }
    s.genesis_address = env_or("DEVCHAIN_GENESIS_ADDRESS", "");
    if (uint64_t(s.genesis_outputs) * uint64_t(s.genesis_sats) > crypto::MAX_MONEY)
        return "DEVCHAIN_GENESIS_OUTPUTS * DEVCHAIN_GENESIS_SATS exceeds 21 million coins";
    return {};
}

// --- handlers ------------------------------------------------------------------

struct DevCtx {
    devchain::ChainState *chain = nullptr;
    const Settings *settings = nullptr;
};

// A bare JSON string body, as WhatsOnChain answers a broadcast.
Response json_text(int status, std::string_view text)
{
    return http::json(status, json_stringn(text.data(), text.size()));
}

Response store_error(Errc e)
{
    if (e == Errc::unavailable || e == Errc::timeout || e == Errc::conflict || e == Errc::deadlock)
        return http::error(503, http::code::unavailable, "Chain database unavailable.");
    JsonPtr f(json_pack("{s:s}", "error", std::string(errc_name(e)).c_str()));
    log::error("chain state error", f.get());
    return http::error(500, http::code::internal, "Internal error.");
}

bool net_ok(const DevCtx &ctx, const http::PathParams &p)
{
    return p.get("net") == ctx.settings->network_name;
}

Response not_found()
{
    return http::error(404, http::code::not_found, "Not found.");
}

Response handle_health(DevCtx &, const Request &, const http::PathParams &)
{
    return http::json(200, json_pack("{s:s}", "status", "ok"));
}

Response handle_tx_raw(DevCtx &ctx, const Request &req, const http::PathParams &p)
{
    if (!net_ok(ctx, p)) return not_found();
    http::ParsedBody body = http::parse_json_body(req);
    if (body.error) return std::move(*body.error);
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"txhex"});
    auto txhex = v.string("txhex", true);
    if (!v.ok()) return http::validation_error(details.release());

    auto r = ctx.chain->submit(*txhex);
    if (!r) return store_error(r.error());
    using Kind = devchain::SubmitOutcome::Kind;
    const char *what = r->kind == Kind::accepted ? "tx accepted" : r->kind == Kind::known ? "tx already known"
                                                                                         : "tx rejected";
    JsonPtr f(json_pack("{s:s,s:s}", "txid", r->txid.c_str(), "reason", r->reason.c_str()));
    log::info(what, f.get());
    if (r->kind == Kind::rejected) return json_text(400, r->reason);
    return json_text(200, r->txid);
}

Response handle_unspent(DevCtx &ctx, const Request &, const http::PathParams &p)
{
    if (!net_ok(ctx, p)) return not_found();
    auto pkh = crypto::parse_p2pkh_address(p.get("address"), ctx.settings->network);
    if (!pkh)
        return http::error(400, http::code::validation, "Invalid address.",
                           json_pack("[{s:s,s:s}]", "field", "address", "issue",
                                     "must be a P2PKH address of this network"));
    auto list = ctx.chain->unspent(*pkh, kMaxUnspentRows);
    if (!list) return store_error(list.error());
    json_t *arr = json_array();
    for (const devchain::UnspentOutput &u : *list)
        json_array_append_new(arr, json_pack("{s:I,s:I,s:s,s:I,s:I}", "height", json_int_t(u.height), "tx_pos",
                                             json_int_t(u.vout), "tx_hash", u.txid.c_str(), "value",
                                             json_int_t(u.satoshis), "confirmations",
                                             json_int_t(u.confirmations)));
    return http::json(200, arr);
}

Response handle_chain_info(DevCtx &ctx, const Request &, const http::PathParams &p)
{
    if (!net_ok(ctx, p)) return not_found();
    auto t = ctx.chain->tip();
    if (!t) return store_error(t.error());
    return http::json(200, json_pack("{s:s,s:I,s:s}", "chain", ctx.settings->network_name.c_str(), "blocks",
                                     json_int_t(t->height), "bestblockhash", t->hash.c_str()));
}

Response handle_tx_hash(DevCtx &ctx, const Request &, const http::PathParams &p)
{
    if (!net_ok(ctx, p)) return not_found();
    auto rec = ctx.chain->find_tx(p.get("txid"));
    if (!rec) {
        if (rec.error() == Errc::invalid_argument)
            return http::error(400, http::code::validation, "Invalid txid.",
                               json_pack("[{s:s,s:s}]", "field", "txid", "issue", "must be 64 hex digits"));
        if (rec.error() == Errc::not_found) return http::error(404, http::code::not_found, "Unknown transaction.");
        return store_error(rec.error());
    }
    json_t *height = rec->block_height ? json_integer(json_int_t(*rec->block_height)) : json_null();
    return http::json(200, json_pack("{s:s,s:s,s:o,s:I}", "txid", rec->txid.c_str(), "hex", rec->hex.c_str(),
                                     "blockheight", height, "confirmations", json_int_t(rec->confirmations)));
}

Response handle_mine(DevCtx &ctx, const Request &req, const http::PathParams &)
{
    int blocks = 1;
    if (!req.body.empty()) {
        http::ParsedBody body = http::parse_json_body(req);
        if (body.error) return std::move(*body.error);
        JsonPtr details(json_array());
        http::Validator v(body.object.get(), details.get());
        v.only({"blocks"});
        auto n = v.integer("blocks", false);
        if (n && (*n < 1 || *n > kMaxMineBlocks)) v.problem("blocks", "must be 1 to 100");
        if (!v.ok()) return http::validation_error(details.release());
        if (n) blocks = int(*n);
    }
    auto r = ctx.chain->mine(blocks);
    if (!r) return store_error(r.error());
    JsonPtr f(json_pack("{s:I,s:i}", "height", json_int_t(r->height), "mined", r->mined));
    log::info("mined", f.get());
    return http::json(200, json_pack("{s:I,s:i}", "blocks", json_int_t(r->height), "mined", r->mined));
}

// --- request loop --------------------------------------------------------------

using Router = http::Router<DevCtx>;

Router make_router()
{
    Router r;
    r.add("GET", "/health", handle_health, http::Auth::none, 0, false);
    r.add("POST", "/v1/bsv/{net}/tx/raw", handle_tx_raw, http::Auth::none, kTxBodyLimit, false);
    r.add("GET", "/v1/bsv/{net}/address/{address}/unspent", handle_unspent, http::Auth::none, 0, false);
    r.add("GET", "/v1/bsv/{net}/chain/info", handle_chain_info, http::Auth::none, 0, false);
    r.add("GET", "/v1/bsv/{net}/tx/hash/{txid}", handle_tx_hash, http::Auth::none, 0, false);
    r.add("POST", "/devchain/mine", handle_mine, http::Auth::none, kMineBodyLimit, false);
    return r;
}

// DEVCHAIN_BLOCK_SEC: workers sit in accept(), so blocks are due-checked
// when a request arrives. The age is re-checked under the tip lock, so two
// workers never both mine the same interval.
void mine_if_due(DevCtx &ctx)
{
    const int64_t every = ctx.settings->block_sec;
    if (every <= 0) return;
    auto t = ctx.chain->tip();
    if (!t) return;
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    if (now - t->mined_at < every) return;
    auto r = ctx.chain->mine(1, every);
    if (!r) {
        JsonPtr f(json_pack("{s:s}", "error", std::string(errc_name(r.error())).c_str()));
        log::warn("timed mining failed", f.get());
    } else if (r->mined > 0) {
        JsonPtr f(json_pack("{s:I}", "height", json_int_t(r->height)));
        log::info("mined (timer)", f.get());
    }
}

// Timed mining happens on the first request after the interval.
std::optional<Response> before_body(DevCtx &ctx, const Request &, const Router::Route &route)
{
    if (route.pattern != "/health" && route.pattern != "/devchain/mine")
        mine_if_due(ctx);
    return std::nullopt;
}

void serve_one(DevCtx &ctx, const Router &router, FCGX_Request &fcgx)
{
    const auto started = std::chrono::steady_clock::now();
    std::string_view route = "unmatched";
    std::string request_id;
    std::string method;
    Response resp;
    // The one catch-all: nothing thrown may cross the accept loop.
    try {
        Request req = http::read_request_head(fcgx);
        request_id = req.request_id;
        method = req.method;
        resp = http::dispatch(ctx, router, fcgx, req, &route, before_body);
    } catch (...) {
        resp = http::error(500, http::code::internal, "Internal error.");
    }
    resp.add_header("X-Request-Id", request_id);
    http::write_response(fcgx, resp);
    http::log_request(request_id, method, route, resp.status, std::chrono::steady_clock::now() - started);
}

int worker_main(const Settings &s, const Router &router, int listen_fd)
{
    unsigned err = 0;
    auto db = store::Db::connect(s.db, &err);
    if (!db) {
        JsonPtr f(json_pack("{s:s,s:i}", "error", std::string(errc_name(db.error())).c_str(), "mysql_errno", int(err)));
        log::error("worker cannot reach MariaDB", f.get());
        return 1;  // the master restarts us with backoff
    }
    devchain::ChainState chain(std::move(*db), devchain::ChainOptions{uint64_t(s.min_fee_per_kb)});
    DevCtx ctx{&chain, &s};

    return http::accept_loop(listen_fd, [&](FCGX_Request &fcgx) { serve_one(ctx, router, fcgx); });
}

// --- start-up -------------------------------------------------------------------

int usage()
{
    std::fputs("usage: patchproof-devchain [--listen PATH|HOST:PORT] [--workers N] [--sql-dir DIR]\n"
               "A local validating BSV chain for development and tests only.\n"
               "environment: DB_HOST, DB_PORT, DB_SOCKET, DB_USER, DB_PASSWORD, DEVCHAIN_DB_NAME\n"
               "             (default patchproof_devchain), DEVCHAIN_NETWORK (main|test, default test),\n"
               "             DEVCHAIN_MIN_FEE_PER_KB (default 250), DEVCHAIN_BLOCK_SEC (default 0 = on demand),\n"
               "             DEVCHAIN_GENESIS_ADDRESS, DEVCHAIN_GENESIS_OUTPUTS (default 10),\n"
               "             DEVCHAIN_GENESIS_SATS (default 1000000), DEVCHAIN_SQL_DIR, DEVCHAIN_LISTEN\n",
               stderr);
    return 2;
}

int fail(const char *what, const std::string &detail = {})
{
    JsonPtr f(json_pack("{s:s}", "detail", detail.c_str()));
    log::error(what, f.get());
    return 1;
}

// CREATE DATABASE needs a privilege a test user may lack; a database made
// beforehand (Stack.create_database) is fine, so failure is only a warning.
void create_database(const Settings &s)
{
    store::DbConfig server_only = s.db;
    server_only.database.clear();
    unsigned err = 0;
    auto db = store::Db::connect(server_only, &err);
    if (!db) return;  // reported by the real connect below
    // The name cannot be a bound parameter; valid_db_name() allowed only [A-Za-z0-9_].
    if (auto r = db->exec_script("CREATE DATABASE IF NOT EXISTS `" + s.db.database + "`"); !r) {
        JsonPtr f(json_pack("{s:s,s:i}", "database", s.db.database.c_str(), "mysql_errno",
                            int(db->last_error_number())));
        log::warn("cannot create the devchain database; expecting it to exist", f.get());
    }
}

// Migrations and genesis, in the master before any worker exists.
int prepare_chain(const Settings &s, const std::string &sql_dir)
{
    create_database(s);
    store::DbConfig cfg = s.db;
    cfg.read_timeout_sec = 60;  // migrations
    unsigned err = 0;
    auto db = store::Db::connect(cfg, &err);
    if (!db) {
        std::string detail = "mysql error " + std::to_string(err);
        if (db.error() == Errc::invalid_argument)
            detail += ": bad credentials, or database " + s.db.database + " missing or not granted to DB_USER";
        return fail("cannot connect to MariaDB", detail);
    }
    std::string detail;
    auto rep = store::migrate(*db, sql_dir, &detail);
    if (!rep) return fail("devchain migration failed", detail);
    for (const std::string &name : rep->applied) {
        JsonPtr f(json_pack("{s:s}", "file", name.c_str()));
        log::info("migration applied", f.get());
    }

    std::optional<devchain::Genesis> genesis;
    if (!s.genesis_address.empty()) {
        auto pkh = crypto::parse_p2pkh_address(s.genesis_address, s.network);
        if (!pkh) return fail("configuration error", "DEVCHAIN_GENESIS_ADDRESS is not a P2PKH address of the network");
        genesis = devchain::Genesis{*pkh, uint32_t(s.genesis_outputs), uint64_t(s.genesis_sats)};
    }
    devchain::ChainState chain(std::move(*db), devchain::ChainOptions{uint64_t(s.min_fee_per_kb)});
    bool created = false;
    if (auto r = chain.init(genesis, &created); !r)
        return fail("cannot initialise the chain", std::string(errc_name(r.error())));
    auto t = chain.tip();
    if (!t) return fail("cannot read the chain tip", std::string(errc_name(t.error())));
    JsonPtr f(json_pack("{s:s,s:I,s:s,s:b}", "network", s.network_name.c_str(), "height", json_int_t(t->height),
                        "best", t->hash.c_str(), "created", created));
    log::info(created ? "new chain" : "chain loaded", f.get());
    if (!created && genesis) log::info("existing chain: DEVCHAIN_GENESIS_* apply to an empty chain only");
    return 0;
}

}  // namespace

int main(int argc, char **argv)
{
    log::set_component("devchain");
    Settings s;
    s.listen = env_or("DEVCHAIN_LISTEN", "");
    std::string sql_flag;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&](std::string_view name) -> const char * {
            if (a == name && i + 1 < argc) return argv[++i];
            if (a.size() > name.size() && a.substr(0, name.size()) == name && a[name.size()] == '=')
                return argv[i] + name.size() + 1;
            return nullptr;
        };
        if (const char *v = value("--listen")) {
            s.listen = v;
        } else if (const char *w = value("--workers")) {
            auto n = parse_int_in(w, 1, kMaxWorkers);
            if (!n) return bad_int_option("patchproof-devchain", "--workers", w, 1, kMaxWorkers);
            s.workers = int(*n);
        } else if (const char *d = value("--sql-dir")) {
            sql_flag = d;
        } else {
            return usage();
        }
    }

    if (std::string bad = load_settings(s); !bad.empty()) return fail("configuration error", bad);
    s.sql_dir = find_sql_dir(sql_flag);
    if (s.sql_dir.empty()) return fail("configuration error", "no sql/devchain directory: pass --sql-dir DIR");
    // The password now lives in Settings; keep it out of /proc/PID/environ.
    config::scrub_env("DB_PASSWORD");

    if (sodium_init() < 0) return fail("sodium_init failed");
    if (!crypto::secp_init()) return fail("self-test failed", "secp256k1 context");
    std::string_view failed_check;
    if (!crypto::self_test(&failed_check)) return fail("self-test failed", std::string(failed_check));
    if (!store::db_library_init()) return fail("MariaDB client library init failed");

    if (int rc = prepare_chain(s, s.sql_dir); rc != 0) return rc;

    const Router router = make_router();
    std::string detail;
    auto fd = server::open_listener(s.listen, 0660, &detail);
    if (!fd) return fail("cannot listen", detail);
    if (FCGX_Init() != 0) return fail("FCGX_Init failed");
    log::info("patchproof-devchain is for development and tests only");

    server::PreforkOptions opt;
    opt.workers = s.workers;
    return server::run_master(*fd, opt, [&](int listen_fd) { return worker_main(s, router, listen_fd); });
}

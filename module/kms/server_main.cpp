// SPDX-License-Identifier: MIT
// patchproof-kms: the reference KMS of DESIGN.md §4, a FastCGI program behind
// its own nginx listener. It alone holds private keys (module/kms/keystore.h)
// and answers:
//   GET  /health              {"status":"ok"}                       no auth
//   GET  /keys                public facts about every key          bearer, read
//   POST /sign                signatures over 32-byte digests       bearer, sign:<label>
//   POST /svd/derive-secret   the SVD shared secret S, with the kid  bearer, derive:svd
// Each client has its own bearer token and scopes (KMS_CLIENTS_FILE,
// module/kms/clients.h): an unknown token is 401, a known one used outside
// its scopes 403, checked before the body is read where the route alone
// decides and per key label for /sign. Errors use the contract's
// one shape. Each request is logged as one JSON line (route, status,
// latency, request id); bodies never are.
//
// Process model: the master reads the configuration, runs the self-test,
// opens the keystore (so a passphrase is stretched once) and forks the
// workers (module/server/prefork.h). Each worker re-reads the keystore when
// the file changes, so `patchproof kms keygen` takes effect without a restart.
#include <fcgiapp.h>
#include <sys/stat.h>

#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sodium.h>

#include "common/args.h"
#include "common/json.h"
#include "config/config.h"
#include "crypto/base58.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/secp256k1.h"
#include "crypto/selftest.h"
#include "crypto/svd.h"
#include "http/body.h"
#include "http/fcgi.h"
#include "http/http.h"
#include "http/router.h"
#include "http/serve.h"
#include "kms/clients.h"
#include "kms/keystore.h"
#include "log/log.h"
#include "server/prefork.h"

namespace {

using namespace pp;
using http::Request;
using http::Response;

constexpr size_t kBodyLimit = 64 * 1024;
constexpr size_t kMaxSignRequests = 64;
constexpr int kMaxWorkers = 64;

struct KmsCtx {
    kms::Keystore *keystore = nullptr;
    const kms::Clients *clients = nullptr;
    // The client of the request being served (set before the body is read,
    // cleared after each request).
    const kms::ClientEntry *client = nullptr;
    std::string last_refresh_error;
};

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

const kms::ClientEntry *bearer_client(const KmsCtx &ctx, const Request &req)
{
    std::string_view h = trim(req.header("authorization"));
    constexpr std::string_view scheme = "bearer ";
    if (h.size() <= scheme.size())
        return nullptr;
    for (size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(h[i])) != scheme[i])
            return nullptr;
    return ctx.clients->authenticate(trim(h.substr(scheme.size())));
}

// 403 for a use outside the client's scopes; logged with the client's name
// (never its token) so a misconfigured or misbehaving client shows up.
Response forbidden(const KmsCtx &ctx, kms::Use use, std::string_view label)
{
    const std::string u(kms::use_name(use));
    const std::string l(label);
    JsonPtr f(json_pack("{s:s,s:s,s:s}", "client", ctx.client ? ctx.client->name.c_str() : "", "use", u.c_str(),
                        "label", l.c_str()));
    log::warn("kms use outside the client's scopes", f.get());
    return http::error(403, http::code::forbidden, "This credential may not do that.");
}

// The keystore may have changed (keygen while we run); errors are logged
// once per distinct message and the keys already loaded stay in use.
void refresh_keystore(KmsCtx &ctx)
{
    std::string detail;
    auto r = ctx.keystore->refresh(&detail);
    if (r && *r) {
        JsonPtr f(json_pack("{s:i}", "keys", int(ctx.keystore->keys().size())));
        log::info("keystore reloaded", f.get());
        ctx.last_refresh_error.clear();
    } else if (!r && detail != ctx.last_refresh_error) {
        JsonPtr f(json_pack("{s:s,s:s}", "error", std::string(errc_name(r.error())).c_str(), "detail",
                            detail.c_str()));
        log::error("keystore reload failed; keeping the loaded keys", f.get());
        ctx.last_refresh_error = detail;
    }
}

std::string svd_kid(const kms::KeyInfo &svd_key)
{
    const crypto::Hash256 h = crypto::sha256(crypto::as_bytes(svd_key.key_identifier));
    return "svd-" + crypto::hex_encode(h).substr(0, 16);
}

bool is_hex_of(std::string_view s, size_t chars)
{
    return s.size() == chars && crypto::is_hex(s);
}

// --- handlers --------------------------------------------------------------

Response handle_health(KmsCtx &, const Request &, const http::PathParams &)
{
    return http::json(200, json_pack("{s:s}", "status", "ok"));
}

Response handle_keys(KmsCtx &ctx, const Request &, const http::PathParams &)
{
    json_t *keys = json_array();
    for (const kms::KeyInfo &k : ctx.keystore->keys()) {
        const std::string main = crypto::p2pkh_address(k.pubkey, crypto::Network::main);
        const std::string test = crypto::p2pkh_address(k.pubkey, crypto::Network::test);
        const std::string created = kms::format_utc(k.created_at);
        json_array_append_new(keys, json_pack("{s:s,s:s,s:s,s:s,s:s}", "label", k.label.c_str(), "keyIdentifier",
                                              k.key_identifier.c_str(), "addressMain", main.c_str(), "addressTest",
                                              test.c_str(), "createdAt", created.c_str()));
    }
    return http::json(200, json_pack("{s:o}", "keys", keys));
}

Response handle_sign(KmsCtx &ctx, const Request &req, const http::PathParams &)
{
    http::ParsedBody body = http::parse_json_body(req);
    if (body.error)
        return std::move(*body.error);
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"requests"});
    const json_t *items = json_object_get(body.object.get(), "requests");
    if (!items)
        v.problem("requests", "required");
    else if (!json_is_array(items))
        v.problem("requests", "must be an array");
    else if (json_array_size(items) == 0 || json_array_size(items) > kMaxSignRequests)
        v.problem("requests", "must hold 1 to 64 items");
    if (!v.ok())
        return http::validation_error(details.release());

    struct Item {
        std::string_view key_identifier;
        crypto::Hash256 digest{};
    };
    std::vector<Item> parsed(json_array_size(items));
    for (size_t i = 0; i < parsed.size(); ++i) {
        const std::string where = "requests[" + std::to_string(i) + "]";
        const json_t *item = json_array_get(items, i);
        if (!json_is_object(item)) {
            v.problem(where.c_str(), "must be an object");
            continue;
        }
        http::Validator iv(item, details.get(), where);
        iv.only({"keyIdentifier", "sighash"});
        auto kid = iv.string("keyIdentifier", true);
        auto sighash = iv.string("sighash", true);
        if (kid && !is_hex_of(*kid, 66))
            iv.problem("keyIdentifier", "must be 66 hex digits");
        if (sighash && !crypto::hex_decode_into(parsed[i].digest, *sighash))
            iv.problem("sighash", "must be 64 hex digits");
        if (kid)
            parsed[i].key_identifier = *kid;
    }
    if (!v.ok())
        return http::validation_error(details.release());

    // Scope before existence: every sign scope names a label (the clients
    // file refuses one without), and an unknown key has none, so no token may
    // use it. Both answer the same 403, so a sign token cannot probe which
    // keys exist.
    refresh_keystore(ctx);
    std::vector<const kms::KeyInfo *> keys(parsed.size());
    for (size_t i = 0; i < parsed.size(); ++i) {
        keys[i] = ctx.keystore->find(parsed[i].key_identifier);
        if (!keys[i] || !ctx.client || !kms::allows(*ctx.client, kms::Use::sign, keys[i]->label))
            return forbidden(ctx, kms::Use::sign, keys[i] ? std::string_view(keys[i]->label) : "(unknown key)");
    }

    json_t *sigs = json_array();
    JsonPtr out(json_pack("{s:o}", "signatures", sigs));
    for (size_t i = 0; i < parsed.size(); ++i) {
        auto der = ctx.keystore->sign(*keys[i], parsed[i].digest);
        if (!der) {
            JsonPtr f(json_pack("{s:s}", "error", std::string(errc_name(der.error())).c_str()));
            log::error("signing failed", f.get());
            return http::error(500, http::code::internal, "Internal error.");
        }
        const std::string sig_hex = crypto::hex_encode(*der);
        json_array_append_new(sigs, json_pack("{s:s,s:s}", "signatureHex", sig_hex.c_str(), "pubKeyHex",
                                              keys[i]->key_identifier.c_str()));
    }
    return http::json(200, out.release());
}

Response handle_derive(KmsCtx &ctx, const Request &req, const http::PathParams &)
{
    http::ParsedBody body = http::parse_json_body(req);
    if (body.error)
        return std::move(*body.error);
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"Mhex", "pmcHex"});
    auto m_hex = v.string("Mhex", true);
    auto pmc_hex = v.string("pmcHex", true);
    std::array<uint8_t, crypto::kSvdMessageBytes> m{};
    crypto::PubKey33 pmc33{};
    std::optional<crypto::PublicKey> pmc;
    if (m_hex && !crypto::hex_decode_into(m, *m_hex))
        v.problem("Mhex", "must be 48 hex digits");
    if (pmc_hex) {
        if (!crypto::hex_decode_into(pmc33, *pmc_hex)) {
            v.problem("pmcHex", "must be 66 hex digits");
        } else if (auto pk = crypto::parse_pubkey(pmc33); pk) {
            pmc = *pk;
        } else {
            v.problem("pmcHex", "must be a compressed point on the curve");
        }
    }
    if (!v.ok())
        return http::validation_error(details.release());

    refresh_keystore(ctx);
    const kms::KeyInfo *svd = ctx.keystore->latest("svd");
    if (!svd)
        return http::error(404, http::code::not_found, "No svd key in the keystore.");
    auto s = ctx.keystore->svd_shared_secret(*svd, *pmc, m);
    sodium_memzero(m.data(), m.size());
    if (!s) {
        // Only a degenerate PMC/M pair (sum ≡ 0 mod n) gets here.
        return http::error(400, http::code::validation, "Request body is invalid.",
                           json_pack("[{s:s,s:s}]", "field", "pmcHex", "issue", "degenerate key for this M"));
    }
    // Built by hand rather than through jansson so that every copy of the
    // secret's hex is one we can wipe (the response body is wiped after it
    // is written).
    const std::string kid = svd_kid(*svd);
    std::string secret_hex = crypto::hex_encode(s->span());
    Response r;
    r.status = 200;
    r.body.reserve(64 + secret_hex.size() + kid.size());
    r.body += R"({"sharedSecretHex":")";
    r.body += secret_hex;
    r.body += R"(","kid":")";
    r.body += kid;
    r.body += R"("})";
    sodium_memzero(secret_hex.data(), secret_hex.size());
    r.add_header("Cache-Control", "no-store");
    return r;
}

// --- request loop ------------------------------------------------------------

using Router = http::Router<KmsCtx>;

Router make_router()
{
    Router r;
    r.add("GET", "/health", handle_health, http::Auth::none, 0, false);
    r.add("GET", "/keys", handle_keys, http::Auth::kms_bearer, 0, false);
    r.add("POST", "/sign", handle_sign, http::Auth::kms_bearer, kBodyLimit, false);
    r.add("POST", "/svd/derive-secret", handle_derive, http::Auth::kms_bearer, kBodyLimit, false);
    return r;
}

// Authentication, then what the route alone decides about scopes, before
// anything about the body (DESIGN.md §3). /sign's labels are checked once
// the keys are known.
std::optional<Response> before_body(KmsCtx &ctx, const Request &req, const Router::Route &route)
{
    if (route.auth != http::Auth::kms_bearer)
        return std::nullopt;
    ctx.client = bearer_client(ctx, req);
    if (!ctx.client) {
        Response r = http::error(401, http::code::unauthorized, "Missing or invalid bearer token.");
        r.add_header("WWW-Authenticate", "Bearer");
        return r;
    }
    if (route.pattern == "/keys") {
        if (!kms::allows(*ctx.client, kms::Use::read, {}))
            return forbidden(ctx, kms::Use::read, {});
        refresh_keystore(ctx);
    } else if (route.pattern == "/sign") {
        if (!kms::allows_any(*ctx.client, kms::Use::sign))
            return forbidden(ctx, kms::Use::sign, {});
    } else if (route.pattern == "/svd/derive-secret") {
        if (!kms::allows(*ctx.client, kms::Use::derive, "svd"))
            return forbidden(ctx, kms::Use::derive, "svd");
    } else {
        return forbidden(ctx, kms::Use::read, {});  // a new route must say what it needs
    }
    return std::nullopt;
}

void serve_one(KmsCtx &ctx, const Router &router, FCGX_Request &fcgx)
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
        ctx.client = nullptr;
        resp = http::dispatch(ctx, router, fcgx, req, &route, before_body);
        if (!req.body.empty())
            sodium_memzero(req.body.data(), req.body.size());
    } catch (...) {
        resp = http::error(500, http::code::internal, "Internal error.");
    }
    ctx.client = nullptr;
    resp.add_header("X-Request-Id", request_id);
    http::write_response(fcgx, resp);
    if (!resp.body.empty())
        sodium_memzero(resp.body.data(), resp.body.size());
    http::log_request(request_id, method, route, resp.status, std::chrono::steady_clock::now() - started);
}

int worker_main(KmsCtx &ctx, const Router &router, int listen_fd)
{
    return http::accept_loop(listen_fd, [&](FCGX_Request &fcgx) { serve_one(ctx, router, fcgx); });
}

// --- start-up ---------------------------------------------------------------

int usage()
{
    std::fputs("usage: patchproof-kms [--listen PATH|HOST:PORT] [--workers N]\n"
               "environment: KMS_CLIENTS_FILE (required), KMS_KEYSTORE (or KMS_DATA_DIR),\n"
               "             KMS_MASTER_KEY (64 hex) or KMS_PASSPHRASE, KMS_LISTEN\n",
               stderr);
    return 2;
}

int fail(const char *what, const std::string &detail = {})
{
    JsonPtr f(json_pack("{s:s}", "detail", detail.c_str()));
    log::error(what, f.get());
    return 1;
}

// The clients file, then the keystore and its master key, from the
// environment. Returns 0 with both filled in, or main's exit status.
int load_state(std::optional<kms::Clients> &clients_out, std::optional<kms::Keystore> &keystore_out)
{
    // One shared key for every caller is what the clients file replaces;
    // refusing it keeps an old env file from silently meaning something else.
    if (std::getenv("KMS_API_KEY"))
        return fail("configuration error", "KMS_API_KEY is not read by the KMS; list clients in KMS_CLIENTS_FILE");
    const char *clients_path = std::getenv("KMS_CLIENTS_FILE");
    if (!clients_path || !*clients_path)
        return fail("configuration error", "KMS_CLIENTS_FILE is required");
    std::string detail;
    auto clients = kms::Clients::load(clients_path, &detail);
    if (!clients)
        return fail("configuration error", std::string("KMS_CLIENTS_FILE: ") + detail);
    std::string keystore_path;
    if (const char *p = std::getenv("KMS_KEYSTORE"); p && *p)
        keystore_path = p;
    else if (const char *d = std::getenv("KMS_DATA_DIR"); d && *d)
        keystore_path = std::string(d) + "/keystore.json";
    else
        return fail("configuration error", "KMS_KEYSTORE (or KMS_DATA_DIR) is required");

    auto master = kms::MasterKey::from_env([](const char *n) { return std::getenv(n); }, &detail);
    if (!master)
        return fail("configuration error", detail);
    // A missing file is an empty keystore: the KMS can start before the
    // first keygen and picks the keys up when the file appears.
    auto keystore = kms::Keystore::open(keystore_path, std::move(*master), kms::Keystore::IfMissing::empty, &detail);
    if (!keystore)
        return fail("cannot open the keystore", detail);
    {
        JsonPtr f(json_pack("{s:s,s:i}", "keystore", keystore_path.c_str(), "keys",
                            int(keystore->keys().size())));
        log::info(keystore->keys().empty() ? "keystore empty; run `patchproof kms keygen`" : "keystore loaded",
                  f.get());
    }

    {
        JsonPtr f(json_pack("{s:i}", "clients", int(clients->entries().size())));
        log::info("clients loaded", f.get());
    }

    clients_out.emplace(std::move(*clients));
    keystore_out.emplace(std::move(*keystore));
    return 0;
}

}  // namespace

int main(int argc, char **argv)
{
    log::set_component("kms");
    std::string listen;
    if (const char *l = std::getenv("KMS_LISTEN"))
        listen = l;
    int workers = 2;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&](std::string_view name) -> const char * {
            if (a == name && i + 1 < argc)
                return argv[++i];
            if (a.size() > name.size() && a.substr(0, name.size()) == name && a[name.size()] == '=')
                return argv[i] + name.size() + 1;
            return nullptr;
        };
        if (const char *v = value("--listen")) {
            listen = v;
        } else if (const char *w = value("--workers")) {
            auto n = parse_int_in(w, 1, kMaxWorkers);
            if (!n)
                return bad_int_option("patchproof-kms", "--workers", w, 1, kMaxWorkers);
            workers = static_cast<int>(*n);
        } else {
            return usage();
        }
    }

    if (sodium_init() < 0)
        return fail("sodium_init failed");
    if (!crypto::secp_init())
        return fail("self-test failed", "secp256k1 context");
    std::string_view failed_check;
    if (!crypto::self_test(&failed_check))
        return fail("self-test failed", std::string(failed_check));

    std::optional<kms::Clients> clients;
    std::optional<kms::Keystore> keystore;
    if (int rc = load_state(clients, keystore); rc != 0)
        return rc;

    KmsCtx ctx;
    ctx.keystore = &*keystore;
    ctx.clients = &*clients;
    for (const char *name : {"KMS_MASTER_KEY", "KMS_PASSPHRASE"})
        config::scrub_env(name);  // wiped in place: /proc/PID/environ keeps the original block
    const Router router = make_router();

    std::string detail;
    auto fd = server::open_listener(listen, 0660, &detail);
    if (!fd)
        return fail("cannot listen", detail);
    if (FCGX_Init() != 0)
        return fail("FCGX_Init failed");

    server::PreforkOptions opt;
    opt.workers = workers;
    return server::run_master(*fd, opt, [&](int listen_fd) { return worker_main(ctx, router, listen_fd); });
}

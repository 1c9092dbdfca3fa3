// SPDX-License-Identifier: MIT
#include "svd/routes.h"

#include <sodium.h>

#include <cctype>
#include <string>

#include "app/ratelimit.h"
#include "common/json.h"
#include "common/text.h"
#include "crypto/encoding.h"
#include "crypto/jwt.h"
#include "crypto/selftest.h"
#include "crypto/svd.h"
#include "http/body.h"
#include "log/log.h"
#include "store/identities.h"

namespace pp::svd {
namespace {

using app::AppContext;
using http::PathParams;
using http::Request;
using http::Response;

constexpr size_t kSvdBodyLimit = 8 * 1024;
constexpr size_t kMaxSignatureHex = 146;


using http::unavailable;

Response no_store(Response r)
{
    r.add_header("Cache-Control", "no-store");
    return r;
}

void count(AppContext &ctx, server::SvdEvent e)
{
    if (ctx.metrics)
        server::observe_svd(*ctx.metrics, e);
}

Response rate_limited(int64_t retry_after)
{
    Response r = http::error(429, http::code::rate_limited, "Too many requests.");
    r.add_header("Retry-After", std::to_string(retry_after));
    return r;
}

bool valid_pmc(std::string_view pmc_hex)
{
    if (pmc_hex.size() != 66)
        return false;
    auto bytes = crypto::hex_decode(pmc_hex);
    return bytes && crypto::parse_pubkey(*bytes).ok();
}

// Field readers that add the contract's pattern checks to the Validator.
std::optional<std::string_view> user_id_field(http::Validator &v)
{
    auto user = v.string("userId", true);
    if (user && !valid_user_id(*user))
        v.problem("userId", "must match ^[A-Za-z0-9_-]{1,64}$");
    return user;
}

std::optional<std::string_view> pmc_field(http::Validator &v)
{
    auto pmc = v.string("pmcHex", true);
    if (pmc && !valid_pmc(*pmc))
        v.problem("pmcHex", "must be a 33-byte compressed secp256k1 public key in hex");
    return pmc;
}

Response register_post(AppContext &ctx, const Request &req, const PathParams &)
{
    auto body = http::parse_json_body(req);
    if (body.error)
        return *body.error;
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"userId", "pmcHex"});
    auto user = user_id_field(v);
    auto pmc = pmc_field(v);
    if (!v.ok())
        return http::validation_error(details.release());

    const std::string user_id(*user);
    const std::string pmc_hex = ascii_lower(*pmc);
    store::Db *db = ctx.db();
    if (!db)
        return unavailable("Database");
    auto ins = store::insert_pmc(*db, user_id, pmc_hex);
    if (ins)
        return http::json(201, json_pack("{s:b,s:s}", "success", 1, "message", "PMC registered successfully."));
    if (ins.error() != Errc::conflict)
        return unavailable("Database");
    auto have = store::find_pmc(*db, user_id);
    if (!have)
        return unavailable("Database");
    if (*have && **have == pmc_hex)
        return http::json(200, json_pack("{s:b,s:s}", "success", 1, "message", "PMC registered successfully."));
    return http::error(409, http::code::duplicate_pmc, "This user already has a registered key.");
}

Response register_put(AppContext &ctx, const Request &req, const PathParams &)
{
    // Auth::jwt: the pipeline verified the token; req.subject is its user.
    auto body = http::parse_json_body(req);
    if (body.error)
        return *body.error;
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"pmcHex"});
    auto pmc = pmc_field(v);
    if (!v.ok())
        return http::validation_error(details.release());
    store::Db *db = ctx.db();
    if (!db)
        return unavailable("Database");
    auto upd = store::replace_pmc(*db, req.subject, ascii_lower(*pmc));
    if (!upd)
        return unavailable("Database");
    if (!*upd)
        return http::error(404, http::code::not_found, "No key is registered for this user.");
    return http::json(200, json_pack("{s:b,s:s}", "success", 1, "message", "PMC replaced."));
}

std::string challenge_key(const crypto::Hash256 &mhash) { return "svdc:" + crypto::hex_encode(mhash); }
std::string replay_key(const crypto::Hash256 &mhash) { return "svdr:" + crypto::hex_encode(mhash); }

Response begin(AppContext &ctx, const Request &req, const PathParams &)
{
    auto body = http::parse_json_body(req);
    if (body.error)
        return *body.error;
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"userId"});
    auto user = user_id_field(v);
    if (!v.ok())
        return http::validation_error(details.release());
    const std::string user_id(*user);

    store::Cache *cache = ctx.cache();
    if (!cache)
        return unavailable("Cache");
    auto rl = app::rate_check(*cache, "svd-begin", app::user_at_address(user_id, req.remote_addr),
                              ctx.cfg.svd_begin_max, ctx.cfg.svd_begin_window_ms, app::now_ms());
    if (!rl)
        return unavailable("Cache");
    if (!rl->allowed)
        return rate_limited(rl->retry_after_sec);

    store::Db *db = ctx.db();
    if (!db)
        return unavailable("Database");
    auto registered = store::find_pmc(*db, user_id);
    if (!registered)
        return unavailable("Database");
    const std::string kid = ctx.kid();
    if (kid.empty())
        return unavailable("KMS");

    uint8_t m[crypto::kSvdMessageBytes];
    const uint64_t now = static_cast<uint64_t>(app::now_sec());
    for (int i = 0; i < 8; ++i)
        m[i] = static_cast<uint8_t>(now >> (56 - 8 * i));
    randombytes_buf(m + 8, 16);
    const crypto::Hash256 mhash = crypto::sha256(m);
    const uint32_t ttl = static_cast<uint32_t>(ctx.cfg.svd_challenge_ttl_sec + ctx.cfg.svd_clock_skew_sec);
    if (!cache->set(challenge_key(mhash), user_id, ttl))
        return unavailable("Cache");

    count(ctx, server::SvdEvent::begin);
    if (ctx.metrics)
        ctx.metrics->challenges_issued.fetch_add(1, std::memory_order_relaxed);
    json_t *pmc = *registered ? json_string((*registered)->c_str()) : json_null();
    return no_store(http::json(200, json_pack("{s:s,s:o,s:s,s:I}", "M", crypto::hex_encode(m).c_str(), "pmcHex", pmc,
                                              "kid", kid.c_str(), "expiresIn",
                                              json_int_t(ctx.cfg.svd_challenge_ttl_sec))));
}

Response svd_error(AppContext &ctx, server::SvdEvent e, int status, std::string_view code, std::string_view msg)
{
    count(ctx, e);
    return no_store(http::error(status, code, msg));
}

// Steps 2 and 3 of complete: the replay set, then the challenge's owner.
std::optional<Response> check_challenge(AppContext &ctx, store::Cache &cache, const crypto::Hash256 &mhash,
                                        const std::string &user_id)
{
    auto replayed = cache.get(replay_key(mhash));
    if (!replayed)
        return unavailable("Cache");
    if (*replayed)
        return svd_error(ctx, server::SvdEvent::replayed, 409, "SVD_REPLAYED", "The challenge was already used.");
    auto owner = cache.get(challenge_key(mhash));
    if (!owner)
        return unavailable("Cache");
    if (!*owner)
        return svd_error(ctx, server::SvdEvent::expired, 400, "SVD_EXPIRED", "The challenge has expired.");
    if (**owner != user_id)
        return svd_error(ctx, server::SvdEvent::bad_challenge, 400, "SVD_BAD_CHALLENGE",
                         "The challenge was issued to another user.");
    return std::nullopt;
}

// Steps 4 and 5 of complete: the registered key, then the signature against V2C = PMC + h·G.
// On success pmc_hex holds the registered key; the challenge stays usable on failure.
std::optional<Response> check_signature(AppContext &ctx, const std::string &user_id, const crypto::Hash256 &mhash,
                                        const Bytes &sig, std::string &pmc_hex)
{
    store::Db *db = ctx.db();
    if (!db)
        return unavailable("Database");
    auto registered = store::find_pmc(*db, user_id);
    if (!registered)
        return unavailable("Database");
    if (!*registered)
        return svd_error(ctx, server::SvdEvent::no_pmc, 400, "SVD_NO_PMC", "No key is registered for this user.");
    pmc_hex = **registered;
    auto pmc_bytes = crypto::hex_decode(pmc_hex);
    auto pmc = pmc_bytes ? crypto::parse_pubkey(*pmc_bytes) : Result<crypto::PublicKey>(Errc::bad_key);
    if (!pmc)
        return http::error(500, http::code::internal, "Stored key is unreadable.");
    auto v2c = crypto::svd_v2c(*pmc, mhash);
    if (!v2c || !crypto::ecdsa_verify_der(sig, mhash, *v2c))
        return svd_error(ctx, server::SvdEvent::invalid, 401, "SVD_INVALID_SIGNATURE", "The signature is invalid.");
    return std::nullopt;
}

// Step 6 of complete: one-time use; the atomic add decides a race between two completes.
std::optional<Response> consume_challenge(AppContext &ctx, store::Cache &cache, const crypto::Hash256 &mhash,
                                          int64_t ttl, int64_t skew)
{
    auto added = cache.add(replay_key(mhash), "1", static_cast<uint32_t>(ttl + 2 * skew));
    if (!added)
        return unavailable("Cache");
    if (!*added)
        return svd_error(ctx, server::SvdEvent::replayed, 409, "SVD_REPLAYED", "The challenge was already used.");
    if (!cache.remove(challenge_key(mhash)))
        log::warn("challenge delete failed; the replay set still blocks reuse");
    return std::nullopt;
}

// Step 7 of complete: shared secret from the KMS, then the token.
Response issue_token(AppContext &ctx, const std::string &user_id, std::string_view m_hex,
                     const crypto::Hash256 &mhash, const std::string &pmc_hex, int64_t challenge_age)
{
    kms::Client *kms = ctx.kms();
    if (!kms)
        return unavailable("KMS");
    auto derived = kms->derive_secret(m_hex, pmc_hex);
    if (!derived)
        return unavailable("KMS");
    const crypto::Hash256 proof = crypto::svd_proof(user_id, mhash, derived->shared_secret);
    const std::string jti = crypto::hex_encode(mhash);
    const int64_t iat = app::now_sec();
    const int64_t skew = ctx.cfg.svd_clock_skew_sec;
    const std::string kid = ctx.cfg.svd_kms_kid.empty() ? derived->kid : ctx.cfg.svd_kms_kid;
    JsonPtr header(json_pack("{s:s,s:s,s:s}", "alg", "HS256", "typ", "JWT", "kid", kid.c_str()));
    JsonPtr payload(json_pack("{s:s,s:s,s:{s:s,s:s},s:I,s:I,s:I}", "sub", user_id.c_str(), "jti", jti.c_str(), "cnf",
                              "msha256", jti.c_str(), "svd_proof", crypto::hex_encode(proof).c_str(), "iat",
                              json_int_t(iat), "nbf", json_int_t(iat - skew), "exp",
                              json_int_t(iat + ctx.cfg.jwt_ttl_sec)));
    if (!ctx.cfg.jwt_issuer.empty())
        json_object_set_new(payload.get(), "iss", json_string(ctx.cfg.jwt_issuer.c_str()));
    if (!ctx.cfg.jwt_audience.empty())
        json_object_set_new(payload.get(), "aud", json_string(ctx.cfg.jwt_audience.c_str()));
    if (ctx.cfg.jwt_secret.empty())
        return unavailable("Token signing");
    auto token = crypto::jwt_sign_hs256(header.get(), payload.get(), ctx.cfg.jwt_secret.bytes());
    if (!token)
        return http::error(500, http::code::internal, "Internal error.");

    count(ctx, server::SvdEvent::complete);
    if (ctx.metrics) {
        ctx.metrics->jwt_success.fetch_add(1, std::memory_order_relaxed);
        server::observe_challenge_age(*ctx.metrics, static_cast<double>(std::max<int64_t>(0, challenge_age)));
    }
    return no_store(http::json(200, json_pack("{s:s}", "token", token->c_str())));
}

// Order fixed by DESIGN.md §3: validate, M timestamp, replay set, challenge, PMC, signature,
// replay add, challenge delete, KMS secret, JWT.
Response complete(AppContext &ctx, const Request &req, const PathParams &)
{
    auto body = http::parse_json_body(req);
    if (body.error)
        return *body.error;
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"userId", "M", "signatureHex"});
    auto user = user_id_field(v);
    auto m_hex = v.string("M", true);
    auto sig_hex = v.string("signatureHex", true);
    if (m_hex && (m_hex->size() != 48 || !crypto::is_hex(*m_hex)))
        v.problem("M", "must be 48 hex characters");
    if (sig_hex && (sig_hex->empty() || sig_hex->size() > kMaxSignatureHex || !crypto::is_hex(*sig_hex)))
        v.problem("signatureHex", "must be non-empty hex of even length, at most 146 characters");
    if (!v.ok())
        return http::validation_error(details.release());
    const std::string user_id(*user);
    auto m = crypto::hex_decode(*m_hex);
    auto sig = crypto::hex_decode(*sig_hex);
    if (!m || !sig)
        return http::error(400, http::code::validation, "Request body is invalid.");

    store::Cache *cache = ctx.cache();
    if (!cache)
        return unavailable("Cache");
    auto rl = app::rate_check(*cache, "svd-complete", app::user_at_address(user_id, req.remote_addr),
                              ctx.cfg.svd_complete_max, ctx.cfg.svd_complete_window_ms, app::now_ms());
    if (!rl)
        return unavailable("Cache");
    if (!rl->allowed)
        return rate_limited(rl->retry_after_sec);

    // 1. Timestamp window.
    int64_t issued = 0;
    for (int i = 0; i < 8; ++i)
        issued = (issued << 8) | (*m)[i];
    const int64_t now = app::now_sec();
    const int64_t ttl = ctx.cfg.svd_challenge_ttl_sec, skew = ctx.cfg.svd_clock_skew_sec;
    if (issued < now - ttl - skew || issued > now + skew)
        return svd_error(ctx, server::SvdEvent::expired, 400, "SVD_EXPIRED", "The challenge has expired.");

    const crypto::Hash256 mhash = crypto::sha256(*m);
    if (auto err = check_challenge(ctx, *cache, mhash, user_id))
        return *err;
    std::string pmc_hex;
    if (auto err = check_signature(ctx, user_id, mhash, *sig, pmc_hex))
        return *err;
    if (auto err = consume_challenge(ctx, *cache, mhash, ttl, skew))
        return *err;
    return issue_token(ctx, user_id, *m_hex, mhash, pmc_hex, now - issued);
}

Response kid(AppContext &ctx, const Request &, const PathParams &)
{
    const std::string k = ctx.kid();
    if (k.empty())
        return unavailable("KMS");
    Response r = http::json(200, json_pack("{s:s}", "kid", k.c_str()));
    r.add_header("Cache-Control", "public, max-age=300");
    return r;
}

Response canary(AppContext &ctx, const Request &, const PathParams &)
{
    std::string_view failed;
    const bool ok = crypto::self_test(&failed).ok();
    const std::string k = ctx.kid();
    json_t *metrics = json_object();
    if (ctx.metrics) {
        for (size_t e = 0; e < static_cast<size_t>(server::SvdEvent::count_); ++e) {
            const auto ev = static_cast<server::SvdEvent>(e);
            const std::string name(server::svd_event_name(ev));
            json_object_set_new(metrics, name.c_str(), json_integer(json_int_t(server::svd_event_count(*ctx.metrics, ev))));
        }
    }
    json_t *body = json_pack("{s:b,s:s,s:o,s:I}", "ok", ok ? 1 : 0, "kid", k.c_str(), "metrics", metrics,
                             "timestamp", json_int_t(app::now_ms()));
    if (!ok)
        json_object_set_new(body, "failed", json_stringn(failed.data(), failed.size()));
    return no_store(http::json(ok ? 200 : 503, body));
}

}  // namespace

void add_routes(app::AppRouter &router)
{
    using http::Auth;
    router.add("POST", "/api/svd/register", register_post, Auth::none, kSvdBodyLimit, true);
    router.add("PUT", "/api/svd/register", register_put, Auth::jwt, kSvdBodyLimit, true);
    router.add("POST", "/api/svd/begin", begin, Auth::none, kSvdBodyLimit, true);
    router.add("POST", "/api/svd/complete", complete, Auth::none, kSvdBodyLimit, true);
    router.add("GET", "/api/svd/kid", kid, Auth::none, 0, true);
    router.add("GET", "/api/svd/canary", canary, Auth::api_key, 0, true);
}

}  // namespace pp::svd

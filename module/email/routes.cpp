// SPDX-License-Identifier: MIT
#include "email/routes.h"

#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <string>

#include "app/ratelimit.h"
#include "common/json.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/jwt.h"
#include "email/limits.h"
#include "email/mail.h"
#include "http/body.h"
#include "log/log.h"
#include "store/email.h"

namespace pp::email {
namespace {

using app::AppContext;
using http::PathParams;
using http::Request;
using http::Response;
using http::unavailable;

constexpr size_t kAuthBodyLimit = 8 * 1024;

Response no_store(Response r)
{
    r.add_header("Cache-Control", "no-store");
    return r;
}

Response rate_limited(int64_t retry_after_sec)
{
    Response r = http::error(429, http::code::rate_limited, "Too many requests.");
    r.add_header("Retry-After", std::to_string(std::max<int64_t>(1, retry_after_sec)));
    return r;
}

Response wrong_code()
{
    return no_store(http::error(401, http::code::unauthorized, "The code is wrong, expired or already used."));
}

Response ok_body(json_t *body) { return no_store(http::json(200, body)); }

// A 503 whose cause an operator can read in the log (the error's name only:
// never an identifier, code or key).
Response down(std::string_view what, Errc e)
{
    JsonPtr f(json_pack("{s:s%,s:s%}", "service", what.data(), what.size(), "error", errc_name(e).data(),
                        errc_name(e).size()));
    log::warn("email login: a service is unavailable", f.get());
    return unavailable(what);
}

std::optional<std::string> identifier_field(http::Validator &v)
{
    auto raw = v.string("identifier", true);
    if (!raw)
        return std::nullopt;
    auto id = normalize_identifier(*raw);
    if (!id)
        v.problem("identifier", "must be an email address local@domain of at most 254 characters, without spaces");
    return id;
}

int64_t ceil_sec(int64_t ms) { return (ms + 999) / 1000; }

// ---------------------------------------------------------------- request

// Client text is hashed into the key (memcached keys are short and plain).
std::string request_slot_key(const std::string &identifier, std::string_view addr)
{
    const crypto::Hash256 h = crypto::sha256(crypto::as_bytes(app::user_at_address(identifier, addr)));
    return "authreq:" + crypto::hex_encode(std::span(h).first(16));
}

// One request per identifier and client address per AUTH_REQUEST_WINDOW_SEC.
// The slot's value is when it ends, for Retry-After. nullopt: allowed.
Result<std::optional<int64_t>> take_request_slot(AppContext &ctx, store::Cache &cache, const std::string &key,
                                                 int64_t now)
{
    const int64_t window_ms = ctx.cfg.auth_request_window_sec * 1000;
    auto added = cache.add(key, std::to_string(now + window_ms), static_cast<uint32_t>(ctx.cfg.auth_request_window_sec));
    if (!added)
        return added.error();
    if (*added)
        return std::optional<int64_t>();
    auto held = cache.get(key);
    if (!held)
        return held.error();
    int64_t until = now + window_ms;
    if (*held)
        std::from_chars((*held)->data(), (*held)->data() + (*held)->size(), until);
    return std::optional<int64_t>(ceil_sec(until - now));
}

// The fresh code's hash and its sealed mail; the code itself is wiped here.
struct Prepared {
    std::string hash;
    Sealed sealed;
};

Result<Prepared> prepare_code(AppContext &ctx, const std::string &identifier, const OutboxKey &key)
{
    std::string code = random_code();
    uint8_t mid[16];
    randombytes_buf(mid, sizeof mid);
    const std::string message_id = crypto::hex_encode(mid);
    auto hash = hash_code(code);
    auto mail = compose_code_mail(CodeMail{ctx.cfg.email_from, identifier, code, ctx.cfg.auth_code_ttl_sec,
                                           app::now_sec(), message_id});
    wipe(code);
    if (!hash || !mail)
        return hash ? mail.error() : hash.error();
    Prepared p{std::move(*hash), seal(key, *mail)};
    wipe(*mail);
    return p;
}

Response request_verification(AppContext &ctx, const Request &req, const PathParams &)
{
    auto body = http::parse_json_body(req);
    if (body.error)
        return *body.error;
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"identifier"});
    auto identifier = identifier_field(v);
    if (!v.ok())
        return http::validation_error(details.release());

    auto key = outbox_key(ctx.cfg.auth_outbox_key.reveal());
    if (!key)
        return unavailable("Email login");
    store::Cache *cache = ctx.cache();
    if (!cache)
        return unavailable("Cache");
    const int64_t now = app::now_ms();
    // Every code costs a slow hash and a mail: a bound per client address
    // across identifiers.
    auto asked = count_event(*cache, limit_base("authreqaddr", req.remote_addr), ctx.cfg.auth_failed_window_sec * 1000,
                             now);
    if (!asked)
        return down("Cache", asked.error());
    if (static_cast<int64_t>(asked->count) > ctx.cfg.auth_requests_per_address)
        return rate_limited(seconds_until(asked->end_ms, now));
    const std::string slot = request_slot_key(*identifier, req.remote_addr);
    auto busy = take_request_slot(ctx, *cache, slot, now);
    if (!busy)
        return down("Cache", busy.error());
    if (*busy)
        return rate_limited(**busy);

    // From here a failure gives the slot back, so the caller may simply retry.
    auto release = [&](Response r) {
        (void)cache->remove(slot);
        return r;
    };
    store::Db *db = ctx.db();
    if (!db)
        return release(unavailable("Database"));
    auto prepared = prepare_code(ctx, *identifier, *key);
    if (!prepared) {
        log::error("cannot prepare a login code mail (check EMAIL_FROM)");
        return release(http::error(500, http::code::internal, "Internal error."));
    }
    store::NewEmailCode row{*identifier, prepared->hash, now + ctx.cfg.auth_code_ttl_sec * 1000,
                            prepared->sealed.nonce, prepared->sealed.ciphertext};
    auto stored = store::store_code_request(*db, row, now, kMaxOutstandingCodes);
    if (!stored)
        return release(down("Database", stored.error()));
    if (!stored->stored)
        return rate_limited(ceil_sec(stored->oldest_expires_ms - now));
    return ok_body(json_pack("{s:b}", "success", 1));
}

// ---------------------------------------------------------------- submit
//
// Two guessing limits (email/limits.h counts an attempt before its codes are
// checked): "here" is the identifier from one client address, at most
// AUTH_MAX_FAILED failures per window, then 429; "total" is the identifier
// from anywhere: its AUTH_MAX_FAILED_TOTAL-th failure voids the codes, and an
// attempt beyond that voids them without checking. A void starts the next
// generation of the total's window, in which one check at a time is admitted
// and any failure voids again; so a code requested after a void can be used,
// while guessing stays at one check per void until the window ends.

std::string here_base(const std::string &identifier, std::string_view addr)
{
    return limit_base("authfail", app::user_at_address(identifier, addr));
}
std::string total_base(const std::string &identifier) { return limit_base("authfailall", identifier); }

// The identifier's codes are void; the total's window moves on.
Response void_all(store::Cache &cache, store::Db &db, const Attempt &total, const std::string &identifier,
                  int64_t now)
{
    auto voided = store::void_codes(db, identifier, now);
    if (!voided)
        return down("Database", voided.error());
    if (*voided > 0)
        log::warn("too many failed login codes for one identifier; its codes are void");
    if (auto g = next_generation(cache, total); !g)  // after the void: a check in the new generation sees no old code
        return down("Cache", g.error());
    return wrong_code();
}

// A failed check: it stays counted in both windows. The total's last
// admitted check, and every failure after a void, voids the codes.
Response failed_submit(AppContext &ctx, store::Cache &cache, store::Db &db, const Attempt &total,
                       const std::string &identifier, int64_t now)
{
    const uint64_t counted = total.attempts - std::min(total.attempts, total.settled);
    if (total.gen > 0 || static_cast<int64_t>(counted) >= ctx.cfg.auth_max_failed_total)
        return void_all(cache, db, total, identifier, now);
    return wrong_code();
}

Result<std::string> mint_token(AppContext &ctx, const std::string &identifier, const std::string &kid)
{
    uint8_t jti[16];
    randombytes_buf(jti, sizeof jti);
    const std::string sub = "email:" + identifier;
    const int64_t iat = app::now_sec();
    JsonPtr header(json_pack("{s:s,s:s,s:s}", "alg", "HS256", "typ", "JWT", "kid", kid.c_str()));
    JsonPtr payload(json_pack("{s:s,s:s,s:[s],s:I,s:I,s:I}", "sub", sub.c_str(), "jti", crypto::hex_encode(jti).c_str(),
                              "amr", "otp", "iat", json_int_t(iat), "nbf", json_int_t(iat - ctx.cfg.svd_clock_skew_sec),
                              "exp", json_int_t(iat + ctx.cfg.jwt_ttl_sec)));
    if (!header || !payload)
        return Errc::internal;
    if (!ctx.cfg.jwt_issuer.empty())
        json_object_set_new(payload.get(), "iss", json_string(ctx.cfg.jwt_issuer.c_str()));
    if (!ctx.cfg.jwt_audience.empty())
        json_object_set_new(payload.get(), "aud", json_string(ctx.cfg.jwt_audience.c_str()));
    return crypto::jwt_sign_hs256(header.get(), payload.get(), ctx.cfg.jwt_secret.bytes());
}

struct Checked {
    enum class Outcome { token, wrong, db_down, internal } outcome = Outcome::wrong;
    std::string token;
    Errc error = Errc::ok;  // db_down: why
};

// Checks the code against every live code (all of them, so the time taken
// does not tell which matched). The token is minted before the code is
// consumed, so nothing after consume_code can fail and spend it for nothing.
Checked check_code(AppContext &ctx, store::Db &db, const std::string &identifier, std::string_view code,
                   const std::string &kid, int64_t now)
{
    using O = Checked::Outcome;
    auto live = store::live_codes(db, identifier, now, kMaxOutstandingCodes);
    if (!live)
        return {O::db_down, {}, live.error()};
    const store::EmailCode *match = nullptr;
    for (const store::EmailCode &c : *live)
        if (code_matches(code, c.hash) && !match)
            match = &c;
    if (!match)
        return {O::wrong, {}};
    auto token = mint_token(ctx, identifier, kid);
    if (!token)
        return {O::internal, {}};
    auto consumed = store::consume_code(db, identifier, *match, now);
    if (!consumed)
        return {O::db_down, {}, consumed.error()};
    if (!*consumed)
        return {O::wrong, {}};
    return {O::token, std::move(*token)};
}

Response submit_verification(AppContext &ctx, const Request &req, const PathParams &)
{
    auto body = http::parse_json_body(req);
    if (body.error)
        return *body.error;
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"identifier", "code"});
    auto identifier = identifier_field(v);
    auto code = v.string("code", true);
    if (code && !valid_code(*code))
        v.problem("code", "must be a string of 6 digits");
    if (!v.ok())
        return http::validation_error(details.release());

    // What can be down is looked at before an attempt is counted.
    store::Cache *cache = ctx.cache();
    if (!cache)
        return unavailable("Cache");
    if (ctx.cfg.jwt_secret.empty())
        return unavailable("Token signing");
    const std::string kid = ctx.kid();
    if (kid.empty())
        return unavailable("KMS");
    store::Db *db = ctx.db();
    if (!db)
        return unavailable("Database");

    const int64_t now = app::now_ms();
    const int64_t window_ms = ctx.cfg.auth_failed_window_sec * 1000;
    const AttemptLimit here_limit{ctx.cfg.auth_max_failed, ctx.cfg.auth_max_failed};
    auto here = begin_attempt(*cache, here_base(*identifier, req.remote_addr), here_limit, window_ms, now);
    if (!here)
        return down("Cache", here.error());
    if (!here->admitted) {
        (void)settle(*cache, *here, false);  // a refusal is no failure
        return rate_limited(seconds_until(here->end_ms, now));
    }
    auto total = begin_attempt(*cache, total_base(*identifier), AttemptLimit{ctx.cfg.auth_max_failed_total, 1},
                               window_ms, now);
    if (!total) {
        (void)settle(*cache, *here, false);
        return down("Cache", total.error());
    }
    if (!total->admitted)
        return void_all(*cache, *db, *total, *identifier, now);  // a failure here, unchecked

    Checked checked = check_code(ctx, *db, *identifier, *code, kid, now);
    if (checked.outcome == Checked::Outcome::wrong)
        return failed_submit(ctx, *cache, *db, *total, *identifier, now);
    const bool ok = checked.outcome == Checked::Outcome::token;
    (void)settle(*cache, *here, ok);
    (void)settle(*cache, *total, ok);
    if (checked.outcome == Checked::Outcome::db_down)
        return down("Database", checked.error);
    if (!ok)
        return http::error(500, http::code::internal, "Internal error.");
    if (ctx.metrics)
        ctx.metrics->jwt_success.fetch_add(1, std::memory_order_relaxed);
    return ok_body(json_pack("{s:b,s:s}", "success", 1, "token", checked.token.c_str()));
}

}  // namespace

void add_routes(app::AppRouter &router)
{
    using http::Auth;
    router.add("POST", "/v1/auth/request-verification", request_verification, Auth::none, kAuthBodyLimit, true);
    router.add("POST", "/v1/auth/submit-verification", submit_verification, Auth::none, kAuthBodyLimit, true);
}

}  // namespace pp::email

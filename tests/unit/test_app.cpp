// SPDX-License-Identifier: MIT
// app: the pipeline's auth column (key, jwt, key+jwt) checked in order and
// before the body is read; the API key compare; rate-limit keys and
// decisions; CORS origin checks and preflight answers. No MariaDB or
// memcached: a valid token stops at the (unreachable) revocation lookup.
#include <ctime>
#include <map>

#include "app/auth.h"
#include "app/context.h"
#include "app/pipeline.h"
#include "app/ratelimit.h"
#include "common/json.h"
#include "crypto/encoding.h"
#include "crypto/jwt.h"

#include "vectors.h"  // last: cmocka's fail() macro must not meet <ios>

using namespace pp;
using namespace pp::app;

namespace {

const std::string kKey(40, 'k');
const std::string kOldKey(40, 'o');
const std::string kSecret(48, 's');

config::Config test_config()
{
    const std::map<std::string, std::string> env = {
        {"PATCHPROOF_ENV", "test"},
        {"API_KEY", kKey},
        {"API_KEY_PREVIOUS", kOldKey},
        {"JWT_SECRET", kSecret},
        {"CORS_ALLOWED_ORIGINS", "https://shop.example, https://app.example"},
        // Nothing listens here: a valid token's revocation lookup fails fast.
        {"DB_SOCKET", "/nonexistent/patchproof-unit.sock"},
        {"MEMCACHED_SERVERS", "/nonexistent/patchproof-unit-mc.sock"},
    };
    std::string line;
    auto cfg = config::load(
        [&](const char *n) -> const char * {
            auto it = env.find(n);
            return it == env.end() ? nullptr : it->second.c_str();
        },
        &line);
    if (!cfg)
        fail_msg("config: %s", line.c_str());
    return std::move(*cfg);
}

std::string token_for(std::string_view sub, int64_t exp_offset, const std::string &secret = kSecret)
{
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    JsonPtr header(json_pack("{s:s,s:s}", "alg", "HS256", "typ", "JWT"));
    JsonPtr payload(json_pack("{s:s%,s:I,s:I,s:I}", "sub", sub.data(), sub.size(), "iat", json_int_t(now - 5),
                              "nbf", json_int_t(now - 35), "exp", json_int_t(now + exp_offset)));
    auto t = crypto::jwt_sign_hs256(header.get(), payload.get(), crypto::as_bytes(secret));
    assert_true(t.ok());
    return *t;
}

http::Response ok_handler(AppContext &, const http::Request &req, const http::PathParams &)
{
    return http::text(200, "handled:" + req.subject);
}

struct Fixture {
    config::Config cfg = test_config();
    AppRouter router;
    AppContext ctx{cfg, router, nullptr, {}, {}, {}, {}, 0};
    int body_reads = 0;

    Fixture()
    {
        router.add("POST", "/none", ok_handler, http::Auth::none, 16, false);
        router.add("POST", "/key", ok_handler, http::Auth::api_key, 16, false);
        router.add("POST", "/jwt", ok_handler, http::Auth::jwt, 16, false);
        router.add("POST", "/both", ok_handler, http::Auth::api_key_and_jwt, 16, false);
        router.add("POST", "/kms", ok_handler, http::Auth::kms_bearer, 16, false);
    }

    // Runs the pipeline with a body that is always too large: 413 means the
    // body was reached, anything else was decided before it.
    http::Response run(const char *path, std::map<std::string, std::string> headers)
    {
        http::Request req;
        req.method = "POST";
        req.path = path;
        req.content_length = 1 << 20;
        req.remote_addr = "127.0.0.1";
        for (auto &[k, v] : headers)
            req.headers.emplace_back(k, v);
        size_t index = 0;
        return dispatch(
            ctx, req,
            [&](http::Request &, size_t) {
                ++body_reads;
                return http::BodyStatus::too_large;
            },
            index);
    }
};

std::string code_of(const http::Response &r)
{
    JsonPtr j(json_loadb(r.body.data(), r.body.size(), 0, nullptr));
    const char *c = j ? json_string_value(json_object_get(j.get(), "code")) : nullptr;
    return c ? c : "";
}

void expect(const http::Response &r, int status, const char *code)
{
    if (r.status != status || code_of(r) != code)
        fail_msg("expected %d %s, got %d %s", status, code, r.status, r.body.c_str());
}

}  // namespace

static void auth_comes_before_the_body(void **)
{
    Fixture f;
    const std::string good = "Bearer " + token_for("alice", 600);
    // No auth: the body is reached.
    expect(f.run("/none", {}), 413, "PAYLOAD_TOO_LARGE");
    assert_int_equal(f.body_reads, 1);
    // key
    expect(f.run("/key", {}), 401, "UNAUTHORIZED");
    expect(f.run("/key", {{"x-api-key", "wrong"}}), 401, "UNAUTHORIZED");
    expect(f.run("/key", {{"x-api-key", kKey}}), 413, "PAYLOAD_TOO_LARGE");
    expect(f.run("/key", {{"x-api-key", kOldKey}}), 413, "PAYLOAD_TOO_LARGE");
    assert_int_equal(f.body_reads, 3);
    // jwt: missing, malformed, wrong secret, expired: all 401 before the body.
    expect(f.run("/jwt", {}), 401, "UNAUTHORIZED");
    expect(f.run("/jwt", {{"authorization", "Basic abc"}}), 401, "UNAUTHORIZED");
    expect(f.run("/jwt", {{"authorization", "Bearer x.y.z"}}), 401, "TOKEN_INVALID");
    expect(f.run("/jwt", {{"authorization", "Bearer " + token_for("alice", 600, std::string(48, 'x'))}}), 401,
           "TOKEN_INVALID");
    expect(f.run("/jwt", {{"authorization", "Bearer " + token_for("alice", -100)}}), 401, "TOKEN_EXPIRED");
    // An API key is no token.
    expect(f.run("/jwt", {{"x-api-key", kKey}}), 401, "UNAUTHORIZED");
    // key+jwt: each alone is refused, the key first.
    expect(f.run("/both", {{"x-api-key", kKey}}), 401, "UNAUTHORIZED");
    expect(f.run("/both", {{"authorization", good}}), 401, "UNAUTHORIZED");
    expect(f.run("/both", {{"x-api-key", kKey}, {"authorization", "Bearer x.y.z"}}), 401, "TOKEN_INVALID");
    // A route of another program's table is refused, not served.
    expect(f.run("/kms", {{"x-api-key", kKey}, {"authorization", good}}), 500, "INTERNAL");
    assert_int_equal(f.body_reads, 3);
    // A valid token gets as far as the revocation lookup (no database here),
    // still before the body.
    expect(f.run("/jwt", {{"authorization", good}}), 503, "SERVICE_UNAVAILABLE");
    expect(f.run("/both", {{"x-api-key", kKey}, {"authorization", good}}), 503, "SERVICE_UNAVAILABLE");
    assert_int_equal(f.body_reads, 3);
}

static void subject_is_only_what_the_token_proves(void **)
{
    Fixture f;
    http::Request req;
    req.subject = "mallory";  // whatever was there before
    assert_false(authenticate(f.ctx, req, http::Auth::none).has_value());
    assert_true(req.subject.empty());
    req.subject = "mallory";
    auto denied = authenticate(f.ctx, req, http::Auth::jwt);
    assert_true(denied.has_value());
    assert_int_equal(denied->status, 401);
    assert_true(req.subject.empty());
}

static void api_key_compare(void **)
{
    config::Config cfg = test_config();
    http::Request req;
    assert_false(api_key_valid(cfg, req));
    req.headers.emplace_back("x-api-key", kKey);
    assert_true(api_key_valid(cfg, req));
    req.headers[0].second = kOldKey;
    assert_true(api_key_valid(cfg, req));
    req.headers[0].second = kKey.substr(0, kKey.size() - 1);
    assert_false(api_key_valid(cfg, req));
    req.headers[0].second = kKey + "k";
    assert_false(api_key_valid(cfg, req));
    req.headers[0].second = "";
    assert_false(api_key_valid(cfg, req));
    // No key configured: nothing matches, not even an empty header.
    config::Config none;
    assert_false(api_key_valid(none, req));
}

static void rate_limit_keys(void **)
{
    // Per user AND address: the same user elsewhere is another count.
    const std::string a = user_at_address("alice", "127.0.0.1");
    const std::string b = user_at_address("alice", "127.0.0.2");
    assert_true(a != b);
    assert_true(user_at_address("alice", "127.0.0.1") == a);
    // The separator keeps pairs apart (userIds never hold a newline).
    assert_true(user_at_address("ab", "c") != user_at_address("a", "bc"));

    const int64_t w = 60000, t = 1'700'000'000'000;
    const std::string k1 = rate_key("svd-begin", a, w, t);
    assert_true(k1 == rate_key("svd-begin", a, w, t + 1));
    assert_true(k1 != rate_key("svd-begin", b, w, t));
    assert_true(k1 != rate_key("svd-complete", a, w, t));
    const int64_t next_window = (t / w + 1) * w;
    assert_true(k1 != rate_key("svd-begin", a, w, next_window));
    assert_true(k1 == rate_key("svd-begin", a, w, next_window - 1));
    // Printable, short, and without the raw id (client text, IPv6 colons…).
    assert_true(k1.size() < 250);
    for (char c : k1)
        assert_true(c > ' ' && c < 127);
    assert_true(rate_key("ip", "::1", w, t).find("::1") == std::string::npos);
    assert_true(k1.find("alice") == std::string::npos);
}

static void rate_limit_decisions(void **)
{
    const int64_t w = 60000, start = 1'700'000'040'000;  // window start (multiple of w)
    assert_int_equal(start % w, 0);
    assert_true(rate_decide(1, 20, w, start).allowed);
    assert_true(rate_decide(20, 20, w, start).allowed);
    RateDecision over = rate_decide(21, 20, w, start + 1500);
    assert_false(over.allowed);
    assert_int_equal(over.retry_after_sec, 59);  // 58.5 s left, rounded up
    assert_int_equal(rate_decide(21, 20, w, start + w - 1).retry_after_sec, 1);  // never 0
    assert_int_equal(rate_decide(99, 20, w, start).retry_after_sec, 60);
}

static void cors_decisions(void **)
{
    config::Config cfg = test_config();
    assert_true(origin_allowed(cfg, "https://shop.example"));
    assert_true(origin_allowed(cfg, "https://app.example"));
    assert_false(origin_allowed(cfg, ""));
    assert_false(origin_allowed(cfg, "https://evil.example"));
    assert_false(origin_allowed(cfg, "https://shop.example.evil"));
    assert_false(origin_allowed(cfg, "http://shop.example"));
    assert_false(origin_allowed(cfg, "https://SHOP.example"));
    assert_false(origin_allowed(cfg, "null"));

    http::Request req;
    req.headers.emplace_back("origin", "https://evil.example");
    http::Response no = preflight(cfg, req, "POST");
    assert_int_equal(no.status, 403);
    assert_string_equal(code_of(no).c_str(), "FORBIDDEN");
    req.headers[0].second = "https://app.example";
    http::Response yes = preflight(cfg, req, "POST, PUT");
    assert_int_equal(yes.status, 204);
    bool methods = false, headers = false;
    for (const auto &[n, v] : yes.headers) {
        if (n == "Access-Control-Allow-Methods")
            methods = v == "POST, PUT, OPTIONS";
        if (n == "Access-Control-Allow-Headers")
            headers = v.find("Authorization") != std::string::npos && v.find("X-API-Key") != std::string::npos;
    }
    assert_true(methods);
    assert_true(headers);
    // Without configured origins, none is allowed.
    config::Config none;
    assert_false(origin_allowed(none, "https://app.example"));
}

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(auth_comes_before_the_body),
        cmocka_unit_test(subject_is_only_what_the_token_proves),
        cmocka_unit_test(api_key_compare),
        cmocka_unit_test(rate_limit_keys),
        cmocka_unit_test(rate_limit_decisions),
        cmocka_unit_test(cors_decisions),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

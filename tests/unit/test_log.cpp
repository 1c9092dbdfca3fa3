// SPDX-License-Identifier: MIT
// log: every credential-like field name is redacted at any depth, other
// fields pass, and a line is one JSON object.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "common/json.h"
#include "log/log.h"

#include "vectors.h"  // last: cmocka's fail() macro must not meet <ios>

using namespace pp;

namespace {

// What one log::emit writes to stderr.
std::string captured(log::Level level, const char *msg, const json_t *fields)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
    log::emit(level, msg, fields);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    close(fds[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0)
        out.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    return out;
}

constexpr const char *kSensitive[] = {
    "password", "DB_PASSWORD", "smtpPassword", "token", "accessToken", "refresh_token", "secret",
    "sharedSecretHex", "JWT_SECRET", "clientSecret", "signature", "signatureHex", "currentOwnerSignature",
    "issuer_signature", "record_signature", "pmcHex", "pmchex", "PMC", "M", "m", "Mhex", "jti", "cnf",
    "authorization", "Authorization", "x-api-key", "X-API-KEY", "api_key", "API_KEY_PREVIOUS", "apiKey",
    "kms_api_key", "private", "privateKey", "wif", "code", "cookie",
};

constexpr const char *kPlain[] = {"route", "status", "userId", "uid_tag_id", "txid", "kid", "path", "attempt",
                                  "method", "request_id", "Mode", "message", "owner", "keyIdentifier"};

}  // namespace

static void credential_like_names_are_sensitive(void **)
{
    for (const char *k : kSensitive)
        if (!log::is_sensitive_key(k))
            fail_msg("%s is not redacted", k);
    for (const char *k : kPlain)
        if (log::is_sensitive_key(k))
            fail_msg("%s is redacted but carries nothing secret", k);
}

static void values_are_redacted_at_any_depth(void **)
{
    log::set_component("unit");
    JsonPtr fields(json_object());
    for (const char *k : kSensitive)
        json_object_set_new(fields.get(), k, json_string("LEAK-top"));
    json_object_set_new(fields.get(), "route", json_string("/api/svd/complete"));
    json_object_set_new(fields.get(), "nested",
                        json_pack("{s:s,s:[{s:s,s:i}],s:{s:{s:s}}}", "userId", "alice", "items", "token",
                                  "LEAK-in-array", "n", 3, "deeper", "more", "x-api-key", "LEAK-deep"));
    json_object_set_new(fields.get(), "cnf", json_pack("{s:s}", "svd_proof", "LEAK-object"));
    const std::string line = captured(log::Level::warn, "something happened", fields.get());
    if (line.find("LEAK") != std::string::npos)
        fail_msg("a secret reached the log: %s", line.c_str());
    assert_non_null(strstr(line.c_str(), "\"route\":\"/api/svd/complete\""));
    assert_non_null(strstr(line.c_str(), "\"userId\":\"alice\""));
    assert_non_null(strstr(line.c_str(), "\"n\":3"));
    assert_non_null(strstr(line.c_str(), "\"token\":\"[redacted]\""));
    assert_non_null(strstr(line.c_str(), "\"component\":\"unit\""));

    // One line, one JSON object.
    assert_true(!line.empty() && line.back() == '\n');
    assert_int_equal(std::count(line.begin(), line.end(), '\n'), 1);
    json_error_t err;
    JsonPtr parsed(json_loadb(line.data(), line.size(), 0, &err));
    assert_non_null(parsed.get());
    assert_string_equal(json_string_value(json_object_get(parsed.get(), "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(parsed.get(), "msg")), "something happened");
    // The caller's object is not modified.
    assert_string_equal(json_string_value(json_object_get(fields.get(), "token")), "LEAK-top");
}

static void levels_below_the_minimum_are_dropped(void **)
{
    log::set_min_level(log::Level::warn);
    assert_true(captured(log::Level::info, "quiet", nullptr).empty());
    assert_false(captured(log::Level::error, "loud", nullptr).empty());
    log::set_min_level(log::Level::info);
}

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(credential_like_names_are_sensitive),
        cmocka_unit_test(values_are_redacted_at_any_depth),
        cmocka_unit_test(levels_below_the_minimum_are_dropped),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

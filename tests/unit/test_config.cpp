// SPDX-License-Identifier: MIT
// config::load over a fake environment: defaults, bounds, production
// refusals (missing or short secrets, a clear-text KMS URL off loopback);
// scrub_env wiping a value where it lies in the environment block.
#include <cstdlib>
#include <cstring>
#include <map>

#include "config/config.h"
#include "store/db.h"

#include "vectors.h"  // last: cmocka's fail() macro must not meet <ios>

using namespace pp;
using namespace pp::config;

namespace {

using EnvMap = std::map<std::string, std::string>;

Result<Config> load_from(const EnvMap &env, std::string *line, Role role = Role::api)
{
    return load(
        [&](const char *name) -> const char * {
            auto it = env.find(name);
            return it == env.end() ? nullptr : it->second.c_str();
        },
        line, role);
}

EnvMap production()
{
    return {{"PATCHPROOF_ENV", "production"},
            {"API_KEY", std::string(32, 'k')},
            {"JWT_SECRET", std::string(32, 's')},
            {"DB_USER", "pp"},
            {"DB_PASSWORD", "pw"},
            {"KMS_URL", "http://127.0.0.1:8090"},
            {"KMS_API_KEY", std::string(24, 'm')}};
}

// Loading fails and the one-line reason names `what` and no value.
void refused(const EnvMap &env, const char *what)
{
    std::string line;
    auto cfg = load_from(env, &line);
    if (cfg)
        fail_msg("accepted; expected a refusal naming %s", what);
    if (line.find(what) == std::string::npos)
        fail_msg("reason \"%s\" does not name %s", line.c_str(), what);
    for (const char *name : secret_names()) {
        auto it = env.find(name);
        if (it != env.end() && !it->second.empty() && line.find(it->second) != std::string::npos)
            fail_msg("reason \"%s\" carries the value of %s", line.c_str(), name);
    }
}

}  // namespace

static void defaults_and_bounds(void **)
{
    std::string line;
    auto cfg = load_from({}, &line);
    assert_true(cfg.ok());
    assert_int_equal(static_cast<int>(cfg->env), static_cast<int>(Env::development));
    assert_int_equal(cfg->svd_begin_max, 20);
    assert_int_equal(cfg->svd_complete_max, 30);
    assert_int_equal(cfg->kms_timeout_ms, 2000);
    assert_true(cfg->api_key.empty());

    auto set = load_from({{"SVD_BEGIN_MAX", "7"}, {"CORS_ALLOWED_ORIGINS", " https://a.example ,, https://b.example"},
                          {"METRICS_REQUIRE_API_KEY", "1"}, {"API_KEY", "abc"}},
                         &line);
    assert_true(set.ok());
    assert_int_equal(set->svd_begin_max, 7);
    assert_int_equal(set->cors_allowed_origins.size(), 2);
    assert_string_equal(set->cors_allowed_origins[1].c_str(), "https://b.example");
    assert_true(set->metrics_require_api_key);
    assert_true(set->api_key.reveal() == "abc");

    refused({{"SVD_BEGIN_MAX", "0"}}, "SVD_BEGIN_MAX");
    refused({{"SVD_BEGIN_MAX", "12x"}}, "SVD_BEGIN_MAX");
    refused({{"DB_PORT", "70000"}}, "DB_PORT");
    refused({{"METRICS_REQUIRE_API_KEY", "yes"}}, "METRICS_REQUIRE_API_KEY");
    refused({{"PATCHPROOF_ENV", "prod"}}, "PATCHPROOF_ENV");
    refused({{"CHAIN_NETWORK", "regtest"}}, "CHAIN_NETWORK");
    refused({{"CONTENT_MASTER_KEY", "abcd"}}, "CONTENT_MASTER_KEY");
    refused({{"JWT_SECRET", "short-but-secret"}}, "JWT_SECRET");
}

static void production_starts_with_everything(void **)
{
    std::string line;
    auto cfg = load_from(production(), &line);
    if (!cfg)
        fail_msg("refused: %s", line.c_str());
    EnvMap rotating = production();
    rotating["API_KEY_PREVIOUS"] = std::string(40, 'p');
    rotating["JWT_SECRET_PREVIOUS"] = std::string(32, 'q');
    rotating["KMS_URL"] = "https://kms.internal.example:8443";
    assert_true(load_from(rotating, &line).ok());
    // The same values are fine outside production.
    EnvMap dev = production();
    dev["PATCHPROOF_ENV"] = "test";
    dev["API_KEY"] = "short";
    dev["KMS_URL"] = "http://kms.example:8090";
    assert_true(load_from(dev, &line).ok());
}

static void production_refuses_missing_or_short_secrets(void **)
{
    for (const char *name : {"API_KEY", "JWT_SECRET", "DB_USER", "DB_PASSWORD", "KMS_URL", "KMS_API_KEY"}) {
        EnvMap env = production();
        env.erase(name);
        refused(env, name);
    }
    struct Case {
        const char *name;
        size_t bytes;
    };
    for (const Case c : {Case{"API_KEY", 31}, Case{"JWT_SECRET", 31}, Case{"API_KEY_PREVIOUS", 31},
                         Case{"JWT_SECRET_PREVIOUS", 31}, Case{"API_KEY_PREVIOUS", 1}}) {
        EnvMap env = production();
        env[c.name] = std::string(c.bytes, 'z');
        refused(env, c.name);
    }
}

// Each role's env file holds only its own secrets (DESIGN.md §7): the worker
// has no API key or JWT secret, the CLI no KMS token of the API or worker.
static void production_needs_only_the_roles_own_secrets(void **)
{
    std::string line;
    EnvMap worker = production();
    worker.erase("API_KEY");
    worker.erase("JWT_SECRET");
    auto w = load_from(worker, &line, Role::worker);
    if (!w)
        fail_msg("worker refused: %s", line.c_str());
    assert_false(load_from(worker, &line, Role::api).ok());
    for (const char *name : {"DB_USER", "DB_PASSWORD", "KMS_URL", "KMS_API_KEY"}) {
        EnvMap env = worker;
        env.erase(name);
        std::string why;
        assert_false(load_from(env, &why, Role::worker).ok());
        assert_non_null(std::strstr(why.c_str(), name));
    }
    EnvMap admin = {{"PATCHPROOF_ENV", "production"}, {"DB_USER", "pp"}, {"DB_PASSWORD", "pw"}};
    assert_true(load_from(admin, &line, Role::admin).ok());
    admin.erase("DB_PASSWORD");
    assert_false(load_from(admin, &line, Role::admin).ok());
    // What a role does read still meets production's rules.
    worker["JWT_SECRET"] = std::string(31, 'z');
    assert_false(load_from(worker, &line, Role::worker).ok());
}

static void production_refuses_clear_text_kms_off_loopback(void **)
{
    for (const char *url : {"http://kms.example:8090", "http://10.0.0.5:8090", "http://128.0.0.1",
                            "http://127.0.0.1.example.com/", "http://[::2]:8090", "http://user@127.0.0.1:8090",
                            "ftp://127.0.0.1", "http://127.0.0.256:1", "http://127.1:8090"}) {
        EnvMap env = production();
        env["KMS_URL"] = url;
        refused(env, "KMS_URL");
    }
    for (const char *url : {"http://127.0.0.1:8090", "http://127.5.6.7/", "http://localhost:8090",
                            "http://[::1]:8090/", "https://kms.example", "https://10.0.0.5:8443/"}) {
        EnvMap env = production();
        env["KMS_URL"] = url;
        std::string line;
        if (!load_from(env, &line))
            fail_msg("%s refused: %s", url, line.c_str());
    }
}

static void secret_names_cover_every_credential(void **)
{
    const auto names = secret_names();
    for (const char *want : {"API_KEY", "API_KEY_PREVIOUS", "JWT_SECRET", "JWT_SECRET_PREVIOUS", "DB_PASSWORD",
                             "KMS_API_KEY", "CONTENT_MASTER_KEY", "WOC_API_KEY"}) {
        bool found = false;
        for (const char *n : names)
            found |= std::strcmp(n, want) == 0;
        if (!found)
            fail_msg("%s is not read as a secret", want);
    }
    for (const char *n : names)
        assert_true(std::strcmp(n, "DB_USER") != 0 && std::strcmp(n, "KMS_URL") != 0);
}

// The one mapping of the DB_* settings onto store::DbConfig (app, worker, CLI).
static void db_config_carries_every_db_setting(void **)
{
    EnvMap env = production();
    env["DB_HOST"] = "127.0.0.9";
    env["DB_PORT"] = "3307";
    env["DB_SOCKET"] = "/run/pp/db.sock";
    env["DB_NAME"] = "pp_other";
    std::string line;
    auto cfg = load_from(env, &line);
    assert_true(cfg.ok());
    const store::DbConfig dc = db_config(*cfg);
    assert_string_equal(dc.host.c_str(), "127.0.0.9");
    assert_int_equal(dc.port, 3307);
    assert_string_equal(dc.unix_socket.c_str(), "/run/pp/db.sock");
    assert_string_equal(dc.user.c_str(), "pp");
    assert_string_equal(dc.password.c_str(), "pw");
    assert_string_equal(dc.database.c_str(), "pp_other");
    assert_int_equal(dc.read_timeout_sec, store::DbConfig{}.read_timeout_sec);
}

static void scrub_env_wipes_the_value_in_place(void **)
{
    // putenv keeps our buffer as the environment entry, as the initial block
    // of a process is: the wipe must land in these bytes.
    static char entry[] = "PP_TEST_SECRET=hunter2-hunter2";
    static char other[] = "PP_TEST_SECRET_NOT=keep-me";
    assert_int_equal(putenv(entry), 0);
    assert_int_equal(putenv(other), 0);
    assert_non_null(std::getenv("PP_TEST_SECRET"));
    scrub_env("PP_TEST_SECRET");
    assert_null(std::getenv("PP_TEST_SECRET"));
    const size_t prefix = std::strlen("PP_TEST_SECRET=");
    for (size_t i = prefix; i < sizeof entry - 1; ++i)
        assert_int_equal(entry[i], 0);
    // A longer name with the same prefix is another variable.
    assert_string_equal(std::getenv("PP_TEST_SECRET_NOT"), "keep-me");
    scrub_env("PP_TEST_NOT_SET");  // absent: nothing happens
    unsetenv("PP_TEST_SECRET_NOT");
}

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_and_bounds),
        cmocka_unit_test(production_starts_with_everything),
        cmocka_unit_test(production_refuses_missing_or_short_secrets),
        cmocka_unit_test(production_needs_only_the_roles_own_secrets),
        cmocka_unit_test(production_refuses_clear_text_kms_off_loopback),
        cmocka_unit_test(secret_names_cover_every_credential),
        cmocka_unit_test(db_config_carries_every_db_setting),
        cmocka_unit_test(scrub_env_wipes_the_value_in_place),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

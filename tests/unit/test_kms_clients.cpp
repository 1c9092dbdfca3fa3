// SPDX-License-Identifier: MIT
// module/kms/clients: the KMS_CLIENTS_FILE parser refuses anything that does
// not say exactly which client may do what; tokens are found by their hash;
// scopes allow exactly the (use, label) pairs they name.
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "vectors.h"

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "kms/clients.h"

using namespace pp;
using namespace pp::kms;

namespace {

std::string hash_hex(const std::string &token)
{
    return crypto::hex_encode(crypto::sha256(crypto::as_bytes(token)));
}

std::string client_json(const std::string &name, const std::string &token, const std::string &scopes)
{
    return R"({"name":")" + name + R"(","tokenSha256":")" + hash_hex(token) + R"(","scopes":)" + scopes + "}";
}

const std::string kApiScopes =
    R"([{"use":"sign","label":"issuer"},{"use":"derive","label":"svd"},{"use":"sun-verify"},{"use":"read"}])";
const std::string kWorkerScopes =
    R"([{"use":"sign","label":"funding"},{"use":"sign","label":"change"},{"use":"read"}])";

std::string sample()
{
    return R"({"clients":[)" + client_json("api", "api-token-0123456789", kApiScopes) + "," +
           client_json("worker", "worker-token-0123456789", kWorkerScopes) + "," +
           client_json("admin", "admin-token-0123456789", R"([{"use":"read"}])") + "," +
           client_json("station", "station-token-0123456789", R"([{"use":"sun-provision"}])") + "]}";
}

void parses_and_authenticates(void **)
{
    std::string detail;
    auto c = Clients::parse(sample(), &detail);
    assert_true(c.ok());
    assert_int_equal(c->entries().size(), 4);
    const ClientEntry *api = c->authenticate("api-token-0123456789");
    const ClientEntry *worker = c->authenticate("worker-token-0123456789");
    assert_non_null(api);
    assert_non_null(worker);
    assert_string_equal(api->name.c_str(), "api");
    assert_string_equal(worker->name.c_str(), "worker");
    assert_null(c->authenticate("api-token-012345678"));
    assert_null(c->authenticate("api-token-0123456789x"));
    assert_null(c->authenticate(""));
    // The hash itself is not a token.
    assert_null(c->authenticate(hash_hex("api-token-0123456789")));
    // Upper-case hex in the file is the same hash.
    std::string hex_upper = hash_hex("tok");
    for (char &ch : hex_upper)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    const std::string upper = R"({"clients":[{"name":"a","tokenSha256":")" + hex_upper + R"(","scopes":[{"use":"read"}]}]})";
    auto u = Clients::parse(upper, &detail);
    assert_true(u.ok());
    assert_non_null(u->authenticate("tok"));
}

void scopes_allow_exactly_what_they_name(void **)
{
    std::string detail;
    auto c = Clients::parse(sample(), &detail);
    assert_true(c.ok());
    const ClientEntry &api = *c->authenticate("api-token-0123456789");
    const ClientEntry &worker = *c->authenticate("worker-token-0123456789");
    const ClientEntry &admin = *c->authenticate("admin-token-0123456789");
    const ClientEntry &station = *c->authenticate("station-token-0123456789");

    assert_true(allows(api, Use::sign, "issuer"));
    assert_false(allows(api, Use::sign, "funding"));
    assert_false(allows(api, Use::sign, "change"));
    assert_false(allows(api, Use::sign, "svd"));
    assert_true(allows(api, Use::derive, "svd"));
    assert_true(allows(api, Use::read, ""));
    assert_true(allows(api, Use::sun_verify, "sun-meta"));
    assert_false(allows(api, Use::sun_provision, "sun-master"));

    assert_true(allows(worker, Use::sign, "funding"));
    assert_true(allows(worker, Use::sign, "change"));
    assert_false(allows(worker, Use::sign, "issuer"));
    assert_false(allows(worker, Use::derive, "svd"));
    assert_true(allows(worker, Use::read, ""));

    assert_true(allows(admin, Use::read, ""));
    assert_false(allows_any(admin, Use::sign));
    assert_false(allows(admin, Use::derive, "svd"));

    assert_true(allows(station, Use::sun_provision, "sun-master"));
    assert_false(allows(station, Use::read, ""));
    assert_false(allows_any(station, Use::sign));

    assert_true(allows_any(api, Use::sign));
    assert_false(allows_any(worker, Use::derive));
}

void refuses_malformed_files(void **)
{
    const std::string h = hash_hex("t");
    const std::string ok_client = R"({"name":"a","tokenSha256":")" + h + R"(","scopes":[{"use":"read"}]})";
    const std::string bad[] = {
        "",
        "not json",
        "[]",
        R"({})",
        R"({"clients":{}})",
        R"({"clients":[]})",
        R"({"clients":[)" + ok_client + R"(],"extra":1})",
        R"({"clients":[)" + ok_client + R"(],"clients":[]})",  // duplicate key
        R"({"clients":["a"]})",
        R"({"clients":[{"name":"a","tokenSha256":")" + h + R"(","scopes":[{"use":"read"}],"token":"t"}]})",
        R"({"clients":[{"tokenSha256":")" + h + R"(","scopes":[{"use":"read"}]}]})",
        R"({"clients":[{"name":"","tokenSha256":")" + h + R"(","scopes":[{"use":"read"}]}]})",
        R"({"clients":[{"name":"a b","tokenSha256":")" + h + R"(","scopes":[{"use":"read"}]}]})",
        R"({"clients":[{"name":"a","tokenSha256":")" + h.substr(2) + R"(","scopes":[{"use":"read"}]}]})",
        R"({"clients":[{"name":"a","tokenSha256":"zz)" + h.substr(2) + R"(","scopes":[{"use":"read"}]}]})",
        R"({"clients":[{"name":"a","scopes":[{"use":"read"}]}]})",
        R"({"clients":[{"name":"a","tokenSha256":")" + h + R"(","scopes":[]}]})",
        R"({"clients":[{"name":"a","tokenSha256":")" + h + R"("}]})",
        R"({"clients":[{"name":"a","tokenSha256":")" + h + R"(","scopes":["read"]}]})",
        R"({"clients":[{"name":"a","tokenSha256":")" + h + R"(","scopes":[{"use":"write"}]}]})",
        R"({"clients":[{"name":"a","tokenSha256":")" + h + R"(","scopes":[{"use":"sign"}]}]})",
        R"({"clients":[{"name":"a","tokenSha256":")" + h + R"(","scopes":[{"use":"sign","label":"Issuer"}]}]})",
        R"({"clients":[{"name":"a","tokenSha256":")" + h + R"(","scopes":[{"use":"derive","label":"issuer"}]}]})",
        R"({"clients":[{"name":"a","tokenSha256":")" + h + R"(","scopes":[{"use":"read","label":"issuer"}]}]})",
        R"({"clients":[{"name":"a","tokenSha256":")" + h + R"(","scopes":[{"use":"read","x":1}]}]})",
        R"({"clients":[{"name":"a","tokenSha256":")" + h + R"(","scopes":[{"use":1}]}]})",
        // Two clients with one name, or one token for two clients.
        R"({"clients":[)" + ok_client + "," + ok_client + "]}",
        R"({"clients":[)" + ok_client + R"(,{"name":"b","tokenSha256":")" + h + R"(","scopes":[{"use":"read"}]}]})",
    };
    for (const std::string &text : bad) {
        std::string detail;
        auto c = Clients::parse(text, &detail);
        if (c.ok())
            fail_msg("accepted: %s", text.c_str());
        assert_false(detail.empty());
        // The detail names a place, never a hash.
        assert_null(std::strstr(detail.c_str(), h.c_str()));
    }
}

void load_reads_a_file(void **)
{
    char path[] = "/tmp/pp-kms-clients-XXXXXX";
    const int fd = mkstemp(path);
    assert_true(fd >= 0);
    const std::string text = sample();
    assert_int_equal(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
    std::string detail;
    auto c = Clients::load(path, &detail);
    assert_true(c.ok());
    assert_non_null(c->authenticate("worker-token-0123456789"));
    unlink(path);
    auto missing = Clients::load(path, &detail);
    assert_false(missing.ok());
    assert_int_equal(static_cast<int>(missing.error()), static_cast<int>(Errc::unavailable));
}

}  // namespace

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_and_authenticates),
        cmocka_unit_test(scopes_allow_exactly_what_they_name),
        cmocka_unit_test(refuses_malformed_files),
        cmocka_unit_test(load_reads_a_file),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

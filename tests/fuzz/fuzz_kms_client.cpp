// SPDX-License-Identifier: MIT
// KMS responses (module/kms/client.cpp): the real client against a loopback
// server answering with the fuzz input. Line 1 names the call ("sign N",
// "derive", "keys", "health"); the rest is the scripted answer
// (fake_http.h). In a sign answer "$SIGi" / "$PUBi" become the true
// signature and key for request i, so the accepting paths are reachable.
// PROPERTY: a signature the client returns verifies over its digest with
// the requested key (it goes on chain as is).
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/secp256k1.h"
#include "fake_http.h"
#include "fuzz_common.h"
#include "kms/client.h"

namespace {

using namespace pp;

struct Key {
    crypto::Secret<32> sk;
    crypto::PublicKey pk;
    std::string hex;
};

struct Harness {
    fuzz::FakeHttp server;
    std::optional<kms::Client> client;
    Key keys[2];

    Harness()
    {
        fuzz::quiet_logs();
        if (!crypto::secp_init())
            std::abort();
        for (int i = 0; i < 2; ++i) {
            for (size_t b = 0; b < 32; ++b)
                keys[i].sk.data()[b] = static_cast<uint8_t>(0x11 * (i + 1) + b);
            auto pk = crypto::pubkey_from_seckey(keys[i].sk);
            if (!pk)
                std::abort();
            keys[i].pk = *pk;
            keys[i].hex = crypto::hex_encode(crypto::serialize_pubkey(*pk));
        }
        kms::ClientOptions o;
        o.api_key = "fuzz-kms-token";
        client.emplace(fuzz::client_of<kms::Client>(server, std::move(o)));
    }
};

Harness &harness()
{
    static Harness *h = new Harness();
    return *h;
}

void fuzz_sign(Harness &h, std::string_view op, std::string script)
{
    const size_t n = 1 + (op.size() > 4 ? static_cast<unsigned char>(op[4]) % 4 : 0);
    std::vector<kms::SignRequest> reqs;
    for (size_t i = 0; i < n; ++i) {
        const std::string seed = "fuzz digest " + std::to_string(i);
        reqs.push_back({h.keys[i % 2].hex, crypto::sha256(crypto::as_bytes(seed))});
    }
    for (size_t i = 0; i < n; ++i) {
        auto der = crypto::ecdsa_sign_der(h.keys[i % 2].sk, reqs[i].digest);
        if (!der)
            std::abort();
        fuzz::replace_all(script, "$SIG" + std::to_string(i), crypto::hex_encode(*der));
        fuzz::replace_all(script, "$PUB" + std::to_string(i), h.keys[i % 2].hex);
    }
    h.server.script(fuzz::parse_script(script));
    auto out = h.client->sign(reqs);
    if (!out)
        return;
    FUZZ_CHECK(out->size() == n, "wrong number of signatures");
    for (size_t i = 0; i < n; ++i) {
        const kms::SignResult &r = (*out)[i];
        FUZZ_CHECK(r.pubkey == crypto::serialize_pubkey(h.keys[i % 2].pk), "signature under another key");
        FUZZ_CHECK(crypto::ecdsa_verify_der(r.der, reqs[i].digest, h.keys[i % 2].pk).ok(),
                   "returned a signature that does not verify");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Harness &h = harness();
    const std::string_view in(reinterpret_cast<const char *>(data), size);
    const size_t nl = in.find('\n');
    const std::string_view op = in.substr(0, nl);
    std::string script(nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1));

    if (op.rfind("sign", 0) == 0) {
        fuzz_sign(h, op, std::move(script));
    } else if (op == "derive") {
        h.server.script(fuzz::parse_script(script));
        const std::string pmc = h.keys[1].hex;
        auto d = h.client->derive_secret(std::string(48, 'a'), pmc);
        if (d)
            FUZZ_CHECK(!d->kid.empty(), "derived a secret without a kid");
    } else if (op == "keys") {
        h.server.script(fuzz::parse_script(script));
        (void)h.client->keys();
    } else {
        h.server.script(fuzz::parse_script(script));
        (void)h.client->health();
    }
    return 0;
}

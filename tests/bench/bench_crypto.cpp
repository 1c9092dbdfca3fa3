// SPDX-License-Identifier: MIT
// make bench-crypto: single-core throughput of the crypto paths the service
// runs per request. Each figure is the median ops/s of several timed runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/json.h"
#include "crypto/base58.h"
#include "crypto/canonical_json.h"
#include "crypto/encoding.h"
#include "crypto/jwt.h"
#include "crypto/secp256k1.h"
#include "crypto/svd.h"

using namespace pp;
using namespace pp::crypto;

namespace {

constexpr int kRuns = 7;
constexpr double kRunSeconds = 0.5;

// Runs fn in batches for about kRunSeconds, kRuns times; returns the median ops/s.
template <typename Fn>
double median_ops(Fn &&fn)
{
    std::vector<double> rates;
    for (int run = 0; run < kRuns; ++run) {
        size_t ops = 0;
        const auto start = std::chrono::steady_clock::now();
        double elapsed = 0;
        do {
            for (int i = 0; i < 64; ++i) {
                if (!fn()) {
                    std::fputs("bench: operation failed\n", stderr);
                    std::exit(1);
                }
            }
            ops += 64;
            elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        } while (elapsed < kRunSeconds);
        rates.push_back(static_cast<double>(ops) / elapsed);
    }
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
}

Secret<32> key_from_byte(uint8_t b)
{
    Secret<32> k;
    for (size_t i = 0; i < 32; ++i)
        k.data()[i] = static_cast<uint8_t>(b + i);
    return k;
}

void report(const char *name, double ops)
{
    std::printf("%-28s %10.0f ops/s  (%.1f us/op)\n", name, ops, 1e6 / ops);
}

}  // namespace

int main()
{
    if (!secp_init())
        return 1;

    // Bare verify: parsed key, parsed signature, fixed digest.
    Secret<32> sk = key_from_byte(1);
    const Hash256 digest = sha256(as_bytes("bench"));
    auto pk = pubkey_from_seckey(sk);
    auto der = ecdsa_sign_der(sk, digest);
    auto sig = parse_signature(*der);
    if (!pk || !der || !sig)
        return 1;
    const double verify = median_ops([&] { return ecdsa_verify(*sig, digest, *pk).ok(); });

    // SVD complete: what the API and KMS do for one login, minus I/O.
    Secret<32> pmc_priv = key_from_byte(2);
    Secret<32> pms = key_from_byte(3);
    auto pmc = pubkey_from_seckey(pmc_priv);
    auto pms_pub = pubkey_from_seckey(pms);
    if (!pmc || !pms_pub)
        return 1;
    const PubKey33 pms33 = serialize_pubkey(*pms_pub);
    const std::string pmc_hex = hex_encode(serialize_pubkey(*pmc));
    Bytes m(kSvdMessageBytes, 0x42);
    const std::string m_hex = hex_encode(m);
    const Hash256 h = sha256(m);
    auto client_key = svd_tweak_secret(pmc_priv, h);
    auto client_sig = ecdsa_sign_der(*client_key, h);
    const std::string sig_hex = hex_encode(*client_sig);
    const std::string jwt_secret = "bench-jwt-secret-of-at-least-32-bytes!!";
    const double svd = median_ops([&] {
        auto pmc_bytes = hex_decode(pmc_hex);
        auto m_bytes = hex_decode(m_hex);
        auto sig_bytes = hex_decode(sig_hex);
        if (!pmc_bytes || !m_bytes || !sig_bytes)
            return false;
        auto pmc_key = parse_pubkey(*pmc_bytes);
        if (!pmc_key)
            return false;
        const Hash256 hm = sha256(*m_bytes);
        auto v2c = svd_v2c(*pmc_key, hm);
        if (!v2c || !ecdsa_verify_der(*sig_bytes, hm, *v2c))
            return false;
        auto s = svd_shared_secret_with_v2c(pms, pms33, serialize_pubkey(*pmc_key), *v2c, hm, *m_bytes);
        if (!s)
            return false;
        const Hash256 proof = svd_proof("bench-user", hm, *s);
        const std::string jti = hex_encode(hm);
        JsonPtr header(json_pack("{s:s,s:s,s:s}", "alg", "HS256", "typ", "JWT", "kid", "svd-0123456789abcdef"));
        JsonPtr payload(json_pack("{s:s,s:s,s:{s:s,s:s},s:I,s:I,s:I}", "sub", "bench-user", "jti", jti.c_str(),
                                  "cnf", "msha256", jti.c_str(), "svd_proof", hex_encode(proof).c_str(), "iat",
                                  json_int_t{1700000000}, "nbf", json_int_t{1699999970}, "exp",
                                  json_int_t{1700000900}));
        auto token = jwt_sign_hs256(header.get(), payload.get(), as_bytes(jwt_secret));
        return token.ok();
    });

    // Verify patch: hash the canonical record, check the issuer signature, owner address.
    Secret<32> issuer = key_from_byte(4);
    auto issuer_pub = pubkey_from_seckey(issuer);
    if (!issuer_pub)
        return 1;
    const std::string issuer_hex = hex_encode(serialize_pubkey(*issuer_pub));
    const char *record_text =
        "{\"type\":\"AUTHENTICATION_RECORD\",\"product\":{\"uid_tag_id\":\"TAG-000123\",\"name\":\"Jersey\","
        "\"sku\":\"J-1\"},\"metadata\":{\"notes\":\"first run\",\"image\":\"https://example.org/i.png\"},"
        "\"auth\":{\"owner\":\"1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH\",\"ts\":1700000000000}}";
    JsonPtr record(json_loads(record_text, 0, nullptr));
    auto canonical = canonical_json(record.get(), KeyOrder::sorted);
    if (!record || !canonical)
        return 1;
    const Hash256 record_hash = sha256(as_bytes(*canonical));
    auto issuer_sig = ecdsa_sign_der(issuer, record_hash);
    const std::string issuer_sig_hex = hex_encode(*issuer_sig);
    const double verify_patch = median_ops([&] {
        auto c = canonical_json(record.get(), KeyOrder::sorted);
        if (!c)
            return false;
        const Hash256 rh = sha256(as_bytes(*c));
        auto pub_bytes = hex_decode(issuer_hex);
        auto sig_bytes = hex_decode(issuer_sig_hex);
        if (!pub_bytes || !sig_bytes)
            return false;
        auto ipk = parse_pubkey(*pub_bytes);
        if (!ipk || !ecdsa_verify_der(*sig_bytes, rh, *ipk))
            return false;
        return !p2pkh_address(std::span<const uint8_t, 33>(pub_bytes->data(), 33), Network::main).empty();
    });

    std::printf("crypto benchmark, one core, median of %d runs of %.1f s\n", kRuns, kRunSeconds);
    report("ecdsa_verify (bare)", verify);
    report("svd_complete (crypto path)", svd);
    report("verify_patch (crypto path)", verify_patch);
    return 0;
}

// SPDX-License-Identifier: MIT
#include "crypto/selftest.h"

#include <algorithm>
#include <string>

#include "common/json.h"
#include "crypto/base58.h"
#include "crypto/canonical_json.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/jwt.h"
#include "crypto/merkle.h"
#include "crypto/secp256k1.h"
#include "crypto/svd.h"
#include "crypto/tx.h"

namespace pp::crypto {
namespace {

bool hex_is(std::span<const uint8_t> got, std::string_view expect_hex)
{
    return hex_encode(got) == expect_hex;
}

bool check_sha256()
{
    return hex_is(sha256(as_bytes("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") &&
           hex_is(sha256d(as_bytes("abc")), "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358");
}

bool check_hmac()
{
    // RFC 4231 test case 2.
    uint8_t mac[32];
    hmac_sha256(mac, as_bytes("Jefe"), as_bytes("what do ya want for nothing?"));
    return hex_is(mac, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

bool check_ripemd160()
{
    return hex_is(ripemd160(as_bytes("abc")), "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc");
}

bool check_base58()
{
    // Row of Bitcoin Core's base58_encode_decode.json, then the P2PKH address of G.
    auto raw = hex_decode("00eb15231dfceb60925886b67d065299925915aeb172c06647");
    if (!raw || base58_encode(*raw) != "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L")
        return false;
    auto back = base58_decode("1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L");
    if (!back || *back != *raw)
        return false;
    auto g = hex_decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
    if (!g)
        return false;
    std::span<const uint8_t, 33> g33(g->data(), 33);
    if (p2pkh_address(g33, Network::main) != "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH")
        return false;
    return parse_p2pkh_address("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", Network::main).ok() &&
           !parse_p2pkh_address("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMh", Network::main).ok();
}

bool check_secp256k1()
{
    // Wycheproof ecdsa_secp256k1_sha256_bitcoin tcId 2 (valid), then a one-bit change.
    auto pub = hex_decode(
        "04b838ff44e5bc177bf21189d0766082fc9d843226887fc9760371100b7ee20a6f"
        "f0c9d75bfba7b31a6bca1974496eeb56de357071955d83c4b1badaa0b21832e9");
    auto sig = hex_decode(
        "3045022100813ef79ccefa9a56f7ba805f0e478584fe5f0dd5f567bc09b5123ccbc9832365"
        "02206ff18a52dcc0336f7af62400a6dd9b810732baf1ff758000d6f613a556eb31ba");
    if (!pub || !sig)
        return false;
    auto pk = parse_pubkey_any(*pub);
    if (!pk)
        return false;
    const Hash256 digest = sha256(as_bytes("123400"));
    if (!ecdsa_verify_der(*sig, digest, *pk))
        return false;
    Bytes bad = *sig;
    bad[10] ^= 0x01;
    if (ecdsa_verify_der(bad, digest, *pk))
        return false;
    // Sign and verify with a fixed key; RFC 6979 makes it deterministic.
    Secret<32> sk;
    sk.data()[31] = 7;
    auto der = ecdsa_sign_der(sk, digest);
    auto spk = pubkey_from_seckey(sk);
    return der && spk && ecdsa_verify_der(*der, digest, *spk).ok();
}

bool check_svd()
{
    // Independent Python reference: tests/tools/svd_kat.py.
    Secret<32> pms;
    if (!hex_decode_into(pms.span(), "112fad8a74e8c298b90b817bba5b5d3e4c1e274ad5ab94dac376233837e04328"))
        return false;
    auto pmc_bytes = hex_decode("0225d2633575f9f23c455009ce6249c8f047f2d61a0027c5fa3ede0d679bfb380b");
    auto m = hex_decode("0000000065f1a2b3000102030405060708090a0b0c0d0e0f");
    if (!pmc_bytes || !m)
        return false;
    auto pmc = parse_pubkey(*pmc_bytes);
    if (!pmc)
        return false;
    auto pms_pub = pubkey_from_seckey(pms);
    if (!pms_pub)
        return false;
    auto s = svd_shared_secret_server(pms, serialize_pubkey(*pms_pub), *pmc, *m);
    if (!s)
        return false;
    return hex_is(s->span(), "7c7c76bf81767d1e2d44d5c09473545ac9d0c8429856ee0bf9b2c48b34ad942d");
}

bool check_sighash()
{
    // bsv/sighash.json row with hashType -1087852991 (ALL|FORKID bits set).
    auto raw = hex_decode(
        "01f312d40322a2e44b2c88b5fa44ef8bae52179fb42819af4fa14922569fba1bb05b1654eb0200000001abffffffff79f9"
        "e20f92c5f1dd8bc18dca05bad02707f640dcea2570d698e2320e07b169fc000000000900006a00636352ac53ffffffff98b2"
        "58466f22c4dca83c09c122313cc649fd047c3840855d6a06ace9ac4a3a2903000000056a6aab0000ffffffff01c4e6eb04"
        "00000000036a65ab00000000");
    auto script = hex_decode("0052ac516a");
    if (!raw || !script)
        return false;
    auto tx = parse_tx(*raw);
    if (!tx)
        return false;
    auto h = signature_hash(*tx, 2, *script, 0, static_cast<uint32_t>(-1087852991));
    if (!h)
        return false;
    Hash256 display = *h;
    std::reverse(display.begin(), display.end());
    return hex_is(display, "72e5d3a4f47f1379f57d235cbfedb1e51f20fe613905e3a5994774ad57559833") &&
           serialize(*tx) == *raw;
}

bool check_jwt()
{
    // RFC 7515 appendix A.1.
    static constexpr std::string_view token =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    auto key = base64url_decode(
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
    if (!key)
        return false;
    JwtVerifyOptions opt;
    opt.secret = *key;
    opt.now = 1300819370;
    if (!jwt_verify_hs256(token, opt))
        return false;
    opt.now = 1300819380 + 3600;
    return jwt_verify_hs256(token, opt).error() == Errc::token_expired;
}

bool check_canonical_json()
{
    json_error_t err;
    JsonPtr v(json_loads("{\"b\":[1,\"\\u0001/\xc3\xa9\"],\"a\":{\"d\":true,\"c\":null}}", 0, &err));
    if (!v)
        return false;
    auto sorted = canonical_json(v.get(), KeyOrder::sorted);
    auto insertion = canonical_json(v.get(), KeyOrder::insertion);
    return sorted && insertion &&
           *sorted == "{\"a\":{\"c\":null,\"d\":true},\"b\":[1,\"\\u0001/\xc3\xa9\"]}" &&
           *insertion == "{\"b\":[1,\"\\u0001/\xc3\xa9\"],\"a\":{\"d\":true,\"c\":null}}";
}

bool check_merkle()
{
    // Three leaves: the odd one is paired with itself.
    Hash256 leaves[3] = {sha256(as_bytes("a")), sha256(as_bytes("b")), sha256(as_bytes("c"))};
    auto root = merkle_root(leaves);
    if (!root)
        return false;
    uint8_t pair[64];
    std::copy(leaves[0].begin(), leaves[0].end(), pair);
    std::copy(leaves[1].begin(), leaves[1].end(), pair + 32);
    const Hash256 ab = sha256(pair);
    std::copy(leaves[2].begin(), leaves[2].end(), pair);
    std::copy(leaves[2].begin(), leaves[2].end(), pair + 32);
    const Hash256 cc = sha256(pair);
    std::copy(ab.begin(), ab.end(), pair);
    std::copy(cc.begin(), cc.end(), pair + 32);
    if (*root != sha256(pair))
        return false;
    auto path = merkle_path(leaves, 2);
    return path && merkle_verify(leaves[2], *path, *root) && !merkle_verify(leaves[1], *path, *root);
}

}  // namespace

Result<void> self_test(std::string_view *failed_check) noexcept
{
    struct Check {
        std::string_view name;
        bool (*run)();
    };
    static constexpr Check checks[] = {
        {"sha256", check_sha256},       {"hmac_sha256", check_hmac},  {"ripemd160", check_ripemd160},
        {"base58", check_base58},       {"secp256k1", check_secp256k1}, {"svd", check_svd},
        {"sighash_forkid", check_sighash}, {"jwt_hs256", check_jwt}, {"canonical_json", check_canonical_json},
        {"merkle", check_merkle},
    };
    for (const Check &c : checks) {
        bool ok = false;
        try {
            ok = c.run();
        } catch (...) {
            ok = false;  // allocation failure: treat as a failed check
        }
        if (!ok) {
            if (failed_check)
                *failed_check = c.name;
            return Errc::internal;
        }
    }
    if (failed_check)
        *failed_check = {};
    return {};
}

}  // namespace pp::crypto

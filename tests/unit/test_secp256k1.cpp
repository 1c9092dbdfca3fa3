// SPDX-License-Identifier: MIT
// secp256k1 wrapper: Wycheproof ECDSA (Bitcoin variant and plain) and ECDH
// vectors, key and signature policy (compressed only, strict DER, low-S),
// RFC 6979 signing.
#include "vectors.h"

#include <string>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/secp256k1.h"

using namespace pp;
using namespace pp::crypto;

namespace {

struct Counts {
    size_t rows = 0, valid = 0, invalid = 0, acceptable = 0;
};

const char *str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        fail_msg("vector field %s missing", key);
    return json_string_value(v);
}

// One Wycheproof ECDSA row through the verifier; true when accepted.
bool ecdsa_row_accepted(const PublicKey &pk, json_t *t, bool low_s_required)
{
    Bytes msg = test::unhex(str(t, "msg"));
    auto sig_hex = hex_decode(str(t, "sig"));
    if (!sig_hex)
        return false;
    Hash256 digest = sha256(msg);
    auto sig = low_s_required ? parse_signature(*sig_hex) : parse_signature_allow_high_s(*sig_hex);
    if (!sig)
        return false;
    return ecdsa_verify(*sig, digest, pk).ok();
}

Secret<32> secret_from_hex(const char *hex)
{
    Secret<32> sk;
    if (!hex_decode_into(sk.span(), hex))
        fail_msg("bad secret hex");
    return sk;
}

}  // namespace

static int setup(void **)
{
    return secp_init().ok() ? 0 : -1;
}

// Bitcoin variant: strict DER and low-S. There are no "acceptable" rows in
// this file; if one appeared the test would fail rather than guess.
static void wycheproof_ecdsa_bitcoin(void **)
{
    json_t *root = test::load_vectors("wycheproof/ecdsa_secp256k1_sha256_bitcoin_test.json");
    Counts c;
    size_t gi;
    json_t *group;
    json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
        Bytes pub = test::unhex(str(json_object_get(group, "publicKey"), "uncompressed"));
        auto pk = parse_pubkey_any(pub);
        assert_true(pk.ok());
        size_t ti;
        json_t *t;
        json_array_foreach(json_object_get(group, "tests"), ti, t) {
            std::string result = str(t, "result");
            bool accepted = ecdsa_row_accepted(*pk, t, true);
            ++c.rows;
            if (result == "valid") {
                ++c.valid;
                if (!accepted)
                    fail_msg("tcId %lld valid but rejected", json_integer_value(json_object_get(t, "tcId")));
            } else if (result == "invalid") {
                ++c.invalid;
                if (accepted)
                    fail_msg("tcId %lld invalid but accepted", json_integer_value(json_object_get(t, "tcId")));
            } else {
                fail_msg("unexpected result class %s", result.c_str());
            }
        }
    }
    print_message("ecdsa_secp256k1_sha256_bitcoin: %zu rows (%zu valid, %zu invalid) matched\n", c.rows, c.valid,
                  c.invalid);
    assert_int_equal(c.rows, 463);
    json_decref(root);
}

// Plain ECDSA: the verifier core with high-S allowed must match every row;
// the Bitcoin-mode verifier must reject exactly the valid rows that are high-S.
static void wycheproof_ecdsa_plain(void **)
{
    json_t *root = test::load_vectors("wycheproof/ecdsa_secp256k1_sha256_test.json");
    Counts c;
    size_t high_s_rejected = 0;
    size_t gi;
    json_t *group;
    json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
        Bytes pub = test::unhex(str(json_object_get(group, "publicKey"), "uncompressed"));
        auto pk = parse_pubkey_any(pub);
        assert_true(pk.ok());
        size_t ti;
        json_t *t;
        json_array_foreach(json_object_get(group, "tests"), ti, t) {
            std::string result = str(t, "result");
            const long long id = json_integer_value(json_object_get(t, "tcId"));
            bool core = ecdsa_row_accepted(*pk, t, false);
            bool strict = ecdsa_row_accepted(*pk, t, true);
            ++c.rows;
            if (result == "valid") {
                ++c.valid;
                if (!core)
                    fail_msg("tcId %lld valid but rejected by core", id);
                if (!strict) {
                    auto der = hex_decode(str(t, "sig"));
                    assert_true(der.ok());
                    if (parse_signature(*der).error() != Errc::high_s)
                        fail_msg("tcId %lld rejected in Bitcoin mode for a reason other than high-S", id);
                    ++high_s_rejected;
                }
            } else if (result == "invalid") {
                ++c.invalid;
                if (core || strict)
                    fail_msg("tcId %lld invalid but accepted", id);
            } else {
                ++c.acceptable;  // BER quirks: we reject them (strict DER).
                if (strict)
                    fail_msg("tcId %lld acceptable row accepted by the strict verifier", id);
            }
        }
    }
    print_message("ecdsa_secp256k1_sha256: %zu rows (%zu valid, %zu invalid, %zu acceptable-rejected), "
                  "%zu valid high-S rejected in Bitcoin mode\n",
                  c.rows, c.valid, c.invalid, c.acceptable, high_s_rejected);
    assert_true(c.rows > 400);
    assert_true(high_s_rejected > 0);
    json_decref(root);
}

// ECDH: we accept only the plain 88-byte SubjectPublicKeyInfo of an
// uncompressed secp256k1 point; "acceptable" rows (compressed points, odd
// ASN.1) are all rejected by that policy, which the README allows.
static void wycheproof_ecdh(void **)
{
    static const char kSpkiPrefix[] = "3056301006072a8648ce3d020106052b8104000a034200";
    json_t *root = test::load_vectors("wycheproof/ecdh_secp256k1_test.json");
    Counts c;
    size_t gi;
    json_t *group;
    json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
        size_t ti;
        json_t *t;
        json_array_foreach(json_object_get(group, "tests"), ti, t) {
            std::string result = str(t, "result");
            std::string pub_hex = str(t, "public");
            std::string priv_hex = str(t, "private");
            const long long id = json_integer_value(json_object_get(t, "tcId"));
            ++c.rows;
            bool ok = false;
            std::string shared;
            if (pub_hex.size() == 176 && pub_hex.rfind(kSpkiPrefix, 0) == 0) {
                auto pk = parse_pubkey_any(test::unhex(pub_hex.substr(46).c_str()));
                // Strip the ASN.1 sign byte and left-pad to 32 bytes.
                while (priv_hex.size() > 64 && priv_hex.compare(0, 2, "00") == 0)
                    priv_hex.erase(0, 2);
                priv_hex.insert(0, 64 - priv_hex.size(), '0');
                Secret<32> sk = secret_from_hex(priv_hex.c_str());
                if (pk && seckey_valid(sk)) {
                    auto x = ecdh_x(sk, *pk);
                    if (x) {
                        ok = true;
                        shared = hex_encode(x->span());
                    }
                }
            }
            if (result == "valid") {
                ++c.valid;
                if (!ok || shared != str(t, "shared"))
                    fail_msg("tcId %lld valid but failed", id);
            } else if (result == "invalid") {
                ++c.invalid;
                if (ok)
                    fail_msg("tcId %lld invalid but accepted", id);
            } else {
                ++c.acceptable;
                if (ok && shared != str(t, "shared"))
                    fail_msg("tcId %lld acceptable row gave a wrong secret", id);
            }
        }
    }
    print_message("ecdh_secp256k1: %zu rows (%zu valid, %zu invalid, %zu acceptable)\n", c.rows, c.valid, c.invalid,
                  c.acceptable);
    assert_int_equal(c.valid, 473);
    json_decref(root);
}

static void pubkey_policy(void **)
{
    const Bytes g33 = test::unhex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
    auto pk = parse_pubkey(g33);
    assert_true(pk.ok());
    PubKey33 round = serialize_pubkey(*pk);
    assert_memory_equal(round.data(), g33.data(), 33);

    const Bytes g65 = test::unhex(
        "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
        "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8");
    assert_int_equal(static_cast<int>(parse_pubkey(g65).error()), static_cast<int>(Errc::bad_key));
    assert_true(parse_pubkey_any(g65).ok());
    Bytes hybrid = g65;
    hybrid[0] = 0x06;
    assert_false(parse_pubkey_any(hybrid).ok());
    Bytes bad_prefix = g33;
    bad_prefix[0] = 0x04;
    assert_false(parse_pubkey(bad_prefix).ok());
    // x = p (not a field element) and x = 5 (no point with that x).
    assert_false(parse_pubkey(test::unhex("02fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f")).ok());
    assert_false(parse_pubkey(test::unhex("020000000000000000000000000000000000000000000000000000000000000005")).ok());
    // Infinity has no 33-byte encoding; all-zero is rejected.
    assert_false(parse_pubkey(Bytes(33, 0)).ok());
    assert_false(parse_pubkey(Bytes()).ok());
    assert_false(parse_pubkey(Bytes(g33.begin(), g33.end() - 1)).ok());
}

static void der_policy(void **)
{
    Secret<32> sk = secret_from_hex("0000000000000000000000000000000000000000000000000000000000000001");
    Hash256 digest = sha256(as_bytes("patchproof"));
    auto der = ecdsa_sign_der(sk, digest);
    assert_true(der.ok());
    auto pk = pubkey_from_seckey(sk);
    assert_true(pk.ok());
    assert_true(ecdsa_verify_der(*der, digest, *pk).ok());

    // Same key and digest give the same signature (RFC 6979).
    auto again = ecdsa_sign_der(sk, digest);
    assert_true(again.ok() && *again == *der);

    // High-S twin: s' = n - s must be rejected as high_s, not normalized.
    const std::string n_hex = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    Bytes d = *der;
    const size_t len_r = d[3];
    const size_t len_s = d[5 + len_r];
    Bytes s(d.begin() + 6 + len_r, d.end());
    assert_int_equal(s.size(), len_s);
    while (s.size() > 32) s.erase(s.begin());
    while (s.size() < 32) s.insert(s.begin(), 0);
    Bytes n = test::unhex(n_hex.c_str());
    Bytes hs(32);
    int borrow = 0;
    for (int i = 31; i >= 0; --i) {
        int v = n[i] - s[i] - borrow;
        borrow = v < 0;
        hs[i] = static_cast<uint8_t>(v + (borrow ? 256 : 0));
    }
    Bytes high = {0x30, 0, 0x02, static_cast<uint8_t>(len_r)};
    high.insert(high.end(), d.begin() + 4, d.begin() + 4 + len_r);
    high.push_back(0x02);
    high.push_back(33);
    high.push_back(0x00);  // hs has its top bit set, so DER needs a zero byte
    assert_true(hs[0] & 0x80);
    high.insert(high.end(), hs.begin(), hs.end());
    high[1] = static_cast<uint8_t>(high.size() - 2);
    assert_true(check_strict_der(high).ok());
    assert_int_equal(static_cast<int>(ecdsa_verify_der(high, digest, *pk).error()), static_cast<int>(Errc::high_s));
    auto lax = parse_signature_allow_high_s(high);
    assert_true(lax.ok());
    assert_true(ecdsa_verify(*lax, digest, *pk).ok());

    // Shape errors.
    Bytes trailing = *der;
    trailing.push_back(0x01);
    assert_int_equal(static_cast<int>(check_strict_der(trailing).error()), static_cast<int>(Errc::bad_der));
    Bytes wrong_tag = *der;
    wrong_tag[0] = 0x31;
    assert_false(check_strict_der(wrong_tag).ok());
    Bytes padded_r = {0x30, 0, 0x02, static_cast<uint8_t>(len_r + 1), 0x00};
    padded_r.insert(padded_r.end(), d.begin() + 4, d.end());
    padded_r[1] = static_cast<uint8_t>(padded_r.size() - 2);
    if (!(d[4] & 0x80)) {
        // A needless leading zero is BER, not DER.
        assert_false(check_strict_der(padded_r).ok());
    }
    assert_false(check_strict_der(Bytes()).ok());
    assert_false(check_strict_der(Bytes(73, 0x30)).ok());

    // Wrong digest or wrong key fails verification.
    Hash256 other = sha256(as_bytes("patchproof!"));
    assert_int_equal(static_cast<int>(ecdsa_verify_der(*der, other, *pk).error()),
                     static_cast<int>(Errc::verify_failed));
    Secret<32> sk2 = secret_from_hex("0000000000000000000000000000000000000000000000000000000000000002");
    auto pk2 = pubkey_from_seckey(sk2);
    assert_true(pk2.ok());
    assert_false(ecdsa_verify_der(*der, digest, *pk2).ok());
}

static void seckey_policy(void **)
{
    Secret<32> zero;
    assert_false(seckey_valid(zero));
    assert_false(pubkey_from_seckey(zero).ok());
    Hash256 digest = sha256(as_bytes("x"));
    assert_false(ecdsa_sign_der(zero, digest).ok());
    Secret<32> order = secret_from_hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
    assert_false(seckey_valid(order));
    auto g = parse_pubkey(test::unhex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"));
    assert_true(g.ok());
    assert_false(ecdh_x(zero, *g).ok());
    // 1·G has x = Gx.
    Secret<32> one = secret_from_hex("0000000000000000000000000000000000000000000000000000000000000001");
    auto x = ecdh_x(one, *g);
    assert_true(x.ok());
    assert_string_equal(hex_encode(x->span()).c_str(),
                        "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
}

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wycheproof_ecdsa_bitcoin),
        cmocka_unit_test(wycheproof_ecdsa_plain),
        cmocka_unit_test(wycheproof_ecdh),
        cmocka_unit_test(pubkey_policy),
        cmocka_unit_test(der_policy),
        cmocka_unit_test(seckey_policy),
    };
    return cmocka_run_group_tests(tests, setup, nullptr);
}

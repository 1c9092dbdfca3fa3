// SPDX-License-Identifier: MIT
// SVD maths of DESIGN.md §3 against an independent Python reference
// (tests/tools/svd_kat.py), plus the sign-with-(pmc+h) round trip.
#include "vectors.h"

#include "crypto/encoding.h"
#include "crypto/svd.h"

using namespace pp;
using namespace pp::crypto;

namespace {

// Printed by tests/tools/svd_kat.py.
constexpr const char *kPmcPriv = "7325665d5685803cd30fb3fc7ee1978d0040aad42fb90092d042f5e24706bf05";
constexpr const char *kPms = "112fad8a74e8c298b90b817bba5b5d3e4c1e274ad5ab94dac376233837e04328";
constexpr const char *kM = "0000000065f1a2b3000102030405060708090a0b0c0d0e0f";
constexpr const char *kPmc = "0225d2633575f9f23c455009ce6249c8f047f2d61a0027c5fa3ede0d679bfb380b";
constexpr const char *kPmsPub = "034fc6bdbd7520a0d211100fa2b5d87f2a769ff6f87df21d64398c37b08cd1d2ab";
constexpr const char *kV2c = "02848af607b5f0f0c121eb63fe8e14e99ec6e87d0038245a48b6af00ec40fdf7dc";
constexpr const char *kX = "0e177b610ad902e86a88ae66b5502063c342fff74c28f093031fa38783ad17ea";
constexpr const char *kS = "7c7c76bf81767d1e2d44d5c09473545ac9d0c8429856ee0bf9b2c48b34ad942d";
constexpr const char *kProof = "3665bbefba7eebfdf6b3a0ad6a100d56cdb899f34c33b02d4809a0a90f90fbb4";

Secret<32> secret(const char *hex)
{
    Secret<32> s;
    if (!hex_decode_into(s.span(), hex))
        fail_msg("bad hex");
    return s;
}

}  // namespace

static int setup(void **)
{
    return secp_init().ok() ? 0 : -1;
}

static void known_answers(void **)
{
    Secret<32> pmc_priv = secret(kPmcPriv);
    Secret<32> pms = secret(kPms);
    Bytes m = test::unhex(kM);
    Hash256 h = sha256(m);

    auto pmc = pubkey_from_seckey(pmc_priv);
    assert_true(pmc.ok());
    assert_string_equal(hex_encode(serialize_pubkey(*pmc)).c_str(), kPmc);
    auto pms_pub = pubkey_from_seckey(pms);
    assert_true(pms_pub.ok());
    assert_string_equal(hex_encode(serialize_pubkey(*pms_pub)).c_str(), kPmsPub);

    auto v2c = svd_v2c(*pmc, h);
    assert_true(v2c.ok());
    assert_string_equal(hex_encode(serialize_pubkey(*v2c)).c_str(), kV2c);

    auto x_client = svd_ecdh_x_client(pmc_priv, *pms_pub, h);
    assert_true(x_client.ok());
    assert_string_equal(hex_encode(x_client->span()).c_str(), kX);

    auto s = svd_shared_secret_server(pms, serialize_pubkey(*pms_pub), *pmc, m);
    assert_true(s.ok());
    assert_string_equal(hex_encode(s->span()).c_str(), kS);

    auto s2 = svd_shared_secret_with_v2c(pms, serialize_pubkey(*pms_pub), serialize_pubkey(*pmc), *v2c, h, m);
    assert_true(s2.ok());
    assert_memory_equal(s2->data(), s->data(), 32);

    // The client reaches the same S from its side of the ECDH.
    Secret<32> s_client = svd_session_key(serialize_pubkey(*pms_pub), serialize_pubkey(*pmc), m, *x_client);
    assert_memory_equal(s_client.data(), s->data(), 32);

    Hash256 proof = svd_proof("alice", h, *s);
    assert_string_equal(hex_encode(proof).c_str(), kProof);
}

static void client_signature_verifies_against_v2c(void **)
{
    Secret<32> pmc_priv = secret(kPmcPriv);
    Bytes m = test::unhex(kM);
    Hash256 h = sha256(m);
    auto pmc = pubkey_from_seckey(pmc_priv);
    assert_true(pmc.ok());
    auto k = svd_tweak_secret(pmc_priv, h);
    assert_true(k.ok());
    auto der = ecdsa_sign_der(*k, h);
    assert_true(der.ok());
    auto v2c = svd_v2c(*pmc, h);
    assert_true(v2c.ok());
    assert_true(ecdsa_verify_der(*der, h, *v2c).ok());
    // Signing with the bare PMC key must not verify against V2C.
    auto bare = ecdsa_sign_der(pmc_priv, h);
    assert_true(bare.ok());
    assert_int_equal(static_cast<int>(ecdsa_verify_der(*bare, h, *v2c).error()),
                     static_cast<int>(Errc::verify_failed));
    // A different M gives a different V2C.
    Bytes m2 = m;
    m2[23] ^= 1;
    auto v2c2 = svd_v2c(*pmc, sha256(m2));
    assert_true(v2c2.ok());
    assert_false(ecdsa_verify_der(*der, h, *v2c2).ok());
}

static void ecdh_sides_agree_for_random_keys(void **)
{
    for (int i = 0; i < 16; ++i) {
        Secret<32> a, b;
        do randombytes_buf(a.data(), 32); while (!seckey_valid(a));
        do randombytes_buf(b.data(), 32); while (!seckey_valid(b));
        Bytes m(kSvdMessageBytes);
        randombytes_buf(m.data(), m.size());
        auto pa = pubkey_from_seckey(a);
        auto pb = pubkey_from_seckey(b);
        assert_true(pa.ok() && pb.ok());
        auto server = svd_shared_secret_server(b, serialize_pubkey(*pb), *pa, m);
        assert_true(server.ok());
        auto x = svd_ecdh_x_client(a, *pb, sha256(m));
        assert_true(x.ok());
        Secret<32> client = svd_session_key(serialize_pubkey(*pb), serialize_pubkey(*pa), m, *x);
        assert_memory_equal(client.data(), server->data(), 32);
    }
}

static void invalid_arguments(void **)
{
    Secret<32> pms = secret(kPms);
    auto pmc = parse_pubkey(test::unhex(kPmc));
    assert_true(pmc.ok());
    auto pms_pub = pubkey_from_seckey(pms);
    assert_true(pms_pub.ok());
    const PubKey33 pms33 = serialize_pubkey(*pms_pub);
    Bytes short_m = test::unhex("00");
    assert_int_equal(static_cast<int>(svd_shared_secret_server(pms, pms33, *pmc, short_m).error()),
                     static_cast<int>(Errc::invalid_argument));
    assert_false(svd_shared_secret_server(pms, pms33, *pmc, Bytes()).ok());
    // h ≥ n is not a valid tweak.
    Hash256 too_big;
    too_big.fill(0xff);
    assert_int_equal(static_cast<int>(svd_v2c(*pmc, too_big).error()), static_cast<int>(Errc::bad_key));
    assert_false(svd_tweak_secret(pms, too_big).ok());
    // k + h ≡ 0 (mod n): h = n - 1 with k = 1.
    Secret<32> one = secret("0000000000000000000000000000000000000000000000000000000000000001");
    Hash256 n_minus_1;
    assert_true(hex_decode_into(n_minus_1, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140").ok());
    assert_false(svd_tweak_secret(one, n_minus_1).ok());
    // PMC = G and h = n - 1 makes V2C the point at infinity.
    auto g = parse_pubkey(test::unhex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"));
    assert_true(g.ok());
    assert_false(svd_v2c(*g, n_minus_1).ok());
}

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_answers),
        cmocka_unit_test(client_signature_verifies_against_v2c),
        cmocka_unit_test(ecdh_sides_agree_for_random_keys),
        cmocka_unit_test(invalid_arguments),
    };
    return cmocka_run_group_tests(tests, setup, nullptr);
}

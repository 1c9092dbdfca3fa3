// SPDX-License-Identifier: MIT
// SHA-256, double SHA-256, RIPEMD-160, hash160, HMAC and HK known answers.
#include "vectors.h"

#include "crypto/encoding.h"
#include "crypto/hash.h"

using namespace pp;
using namespace pp::crypto;

static void sha256_known_answers(void **)
{
    assert_string_equal(hex_encode(sha256(as_bytes(""))).c_str(),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_string_equal(hex_encode(sha256(as_bytes("abc"))).c_str(),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(hex_encode(sha256d(as_bytes("abc"))).c_str(),
                        "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358");
    Sha256 parts;
    parts.update(as_bytes("a")).update(as_bytes("")).update(as_bytes("bc"));
    assert_string_equal(hex_encode(parts.finish()).c_str(),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void ripemd160_known_answers(void **)
{
    assert_string_equal(hex_encode(ripemd160(as_bytes(""))).c_str(), "9c1185a5c5e9fc54612808977ee8f548b2258d31");
    assert_string_equal(hex_encode(ripemd160(as_bytes("abc"))).c_str(), "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc");
    // hash160 of the generator point, compressed.
    Bytes g = test::unhex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
    assert_string_equal(hex_encode(hash160(g)).c_str(), "751e76e8199196d454941c45d1b3a323f1433bd6");
}

static void hmac_rfc4231(void **)
{
    // RFC 4231 test cases 2 and 6 (key longer than the block size).
    uint8_t out[32];
    hmac_sha256(out, as_bytes("Jefe"), as_bytes("what do ya want for nothing?"));
    assert_string_equal(hex_encode(out).c_str(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    Bytes key(131, 0xaa);
    hmac_sha256(out, key, as_bytes("Test Using Larger Than Block-Size Key - Hash Key First"));
    assert_string_equal(hex_encode(out).c_str(), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void hk_is_nested_hmac(void **)
{
    // Reference from Python: hmac(hmac(b"k", b"ikm").digest(), b"label").
    uint8_t out[32];
    hk(out, as_bytes("k"), as_bytes("ikm"), "label");
    uint8_t inner[32], expect[32];
    hmac_sha256(inner, as_bytes("k"), as_bytes("ikm"));
    hmac_sha256(expect, inner, as_bytes("label"));
    assert_memory_equal(out, expect, 32);
    assert_string_equal(hex_encode(out).c_str(), "125b2d733aa55cc760f19ed15986b9e91f786ea3c3f0e088de3557ffef237d87");
}

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_known_answers),
        cmocka_unit_test(ripemd160_known_answers),
        cmocka_unit_test(hmac_rfc4231),
        cmocka_unit_test(hk_is_nested_hmac),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

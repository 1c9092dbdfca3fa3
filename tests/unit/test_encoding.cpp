// SPDX-License-Identifier: MIT
// Hex and base64url codecs: round trips, RFC 4648 vectors, strictness.
#include "vectors.h"

#include <string>

#include "crypto/encoding.h"

using namespace pp;
using namespace pp::crypto;

static void hex_round_trip(void **)
{
    const Bytes data = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    assert_string_equal(hex_encode(data).c_str(), "00017f80abff");
    auto back = hex_decode("00017F80ABff");
    assert_true(back.ok());
    assert_true(*back == data);
    auto empty = hex_decode("");
    assert_true(empty.ok());
    assert_true(empty->empty());
}

static void hex_rejects_bad_input(void **)
{
    assert_int_equal(static_cast<int>(hex_decode("abc").error()), static_cast<int>(Errc::bad_hex));
    assert_int_equal(static_cast<int>(hex_decode("zz").error()), static_cast<int>(Errc::bad_hex));
    assert_int_equal(static_cast<int>(hex_decode("0g").error()), static_cast<int>(Errc::bad_hex));
    assert_int_equal(static_cast<int>(hex_decode(" 00").error()), static_cast<int>(Errc::bad_hex));
    uint8_t out[2];
    assert_int_equal(static_cast<int>(hex_decode_into(out, "00").error()), static_cast<int>(Errc::bad_length));
    assert_int_equal(static_cast<int>(hex_decode_into(out, "00zz").error()), static_cast<int>(Errc::bad_hex));
    assert_true(hex_decode_into(out, "beEF").ok());
    assert_int_equal(out[0], 0xbe);
    assert_int_equal(out[1], 0xef);
    assert_true(is_hex("00aAfF"));
    assert_false(is_hex("0"));
    assert_false(is_hex("0x"));
}

static void base64url_rfc4648(void **)
{
    // RFC 4648 §10 vectors, unpadded.
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; ++i) {
        assert_string_equal(base64url_encode(as_bytes(plain[i])).c_str(), enc[i]);
        auto back = base64url_decode(enc[i]);
        assert_true(back.ok());
        assert_true(std::string(back->begin(), back->end()) == plain[i]);
    }
    const Bytes url = {0xfb, 0xff, 0xbf};
    assert_string_equal(base64url_encode(url).c_str(), "-_-_");
}

static void base64url_is_strict(void **)
{
    const char *bad[] = {"Zg==", "Zm9v=", "Zm+v", "Zm/v", "Zm 9v", "Z", "Zm9vY", "Zh", "Zm-", "\xc3\xa9"};
    // "Zh" and "Zm9" carry non-zero trailing bits; "Z"/"Zm9vY" are impossible lengths.
    for (const char *b : bad)
        assert_int_equal(static_cast<int>(base64url_decode(b).error()), static_cast<int>(Errc::bad_base64));
}

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hex_round_trip),
        cmocka_unit_test(hex_rejects_bad_input),
        cmocka_unit_test(base64url_rfc4648),
        cmocka_unit_test(base64url_is_strict),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

// SPDX-License-Identifier: MIT
// Base58 / Base58Check / P2PKH tests: Bitcoin Core vector files (see
// ../shared/testdata/bitcoin/README.md) plus hand-written edge cases.
#include "vectors.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <string>

#include "crypto/base58.h"
#include "crypto/encoding.h"

using namespace pp;
using namespace pp::crypto;

namespace {

// Compare error codes by name so a failure prints something readable.
#define ASSERT_ERR(expr, code)                                                        \
    do {                                                                              \
        auto r_ = (expr);                                                             \
        assert_false(r_.ok());                                                        \
        assert_string_equal(std::string(errc_name(r_.error())).c_str(),               \
                            std::string(errc_name(code)).c_str());                    \
    } while (0)

std::string lower(std::string s)
{
    for (char &c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool is_bech32_like(const std::string &s)
{
    const std::string l = lower(s);
    return l.rfind("bc1", 0) == 0 || l.rfind("tb1", 0) == 0 || l.rfind("bcrt1", 0) == 0;
}

// The test's own WIF acceptance rule: version 0x80 (main) or 0xef (test),
// a 32-byte secret, then optionally the 0x01 compression flag.
bool wif_ok(const std::string &s)
{
    auto d = base58check_decode(s);
    if (!d)
        return false;
    const Bytes &b = *d;
    if (b.empty() || (b[0] != 0x80 && b[0] != 0xef))
        return false;
    if (b.size() == 33)
        return true;
    return b.size() == 34 && b[33] == 0x01;
}

// Compressed public key of private key 1 (the generator G).
constexpr std::array<uint8_t, 33> kPub1 = {
    0x02, 0x79, 0xbe, 0x66, 0x7e, 0xf9, 0xdc, 0xbb, 0xac, 0x55, 0xa0, 0x62, 0x95, 0xce, 0x87, 0x0b, 0x07,
    0x02, 0x9b, 0xfc, 0xdb, 0x2d, 0xce, 0x28, 0xd9, 0x59, 0xf2, 0x81, 0x5b, 0x16, 0xf8, 0x17, 0x98};

std::span<const uint8_t, 33> pub33(const std::array<uint8_t, 33> &b)
{
    return std::span<const uint8_t, 33>(b);
}

// ---- vector files ---------------------------------------------------------

void test_encode_decode_vectors(void **)
{
    json_t *root = pp::test::load_vectors("bitcoin/base58_encode_decode.json");
    assert_true(json_is_array(root));
    size_t rows = 0, i;
    json_t *row;
    json_array_foreach(root, i, row) {
        const char *hex = json_string_value(json_array_get(row, 0));
        const char *b58 = json_string_value(json_array_get(row, 1));
        assert_non_null(hex);
        assert_non_null(b58);
        const Bytes bytes = pp::test::unhex(hex);  // hex_decode accepts either case
        assert_string_equal(base58_encode(bytes).c_str(), b58);
        auto dec = base58_decode(b58);
        assert_true(dec.ok());
        assert_int_equal(dec->size(), bytes.size());
        assert_true(*dec == bytes);
        ++rows;
    }
    json_decref(root);
    print_message("base58_encode_decode.json: %zu rows checked\n", rows);
    assert_int_equal(rows, 21);
}

void test_key_io_valid(void **)
{
    json_t *root = pp::test::load_vectors("bitcoin/key_io_valid.json");
    assert_true(json_is_array(root));
    size_t wif = 0, p2pkh = 0, p2sh = 0, bech32 = 0, i;
    json_t *row;
    json_array_foreach(root, i, row) {
        const char *str = json_string_value(json_array_get(row, 0));
        const char *payload_hex = json_string_value(json_array_get(row, 1));
        json_t *meta = json_array_get(row, 2);
        assert_non_null(str);
        assert_non_null(payload_hex);
        assert_true(json_is_object(meta));
        const char *chain = json_string_value(json_object_get(meta, "chain"));
        assert_non_null(chain);
        const bool mainchain = std::strcmp(chain, "main") == 0;
        const Network net = mainchain ? Network::main : Network::test;
        const Network other = mainchain ? Network::test : Network::main;

        if (is_bech32_like(str)) {
            // Segwit addresses do not exist on BSV.
            assert_false(parse_p2pkh_address(str, Network::main).ok());
            assert_false(parse_p2pkh_address(str, Network::test).ok());
            ++bech32;
            continue;
        }

        auto dec = base58check_decode(str);
        assert_true(dec.ok());
        const Bytes &b = *dec;
        assert_true(b.size() >= 1);
        const std::string body_hex = hex_encode(std::span<const uint8_t>(b).subspan(1));

        if (json_is_true(json_object_get(meta, "isPrivkey"))) {
            const bool compressed = json_is_true(json_object_get(meta, "isCompressed"));
            assert_int_equal(b[0], mainchain ? 0x80 : 0xef);
            assert_int_equal(b.size(), compressed ? 34 : 33);
            if (compressed)
                assert_int_equal(b[33], 0x01);
            Bytes secret = pp::test::unhex(payload_hex);
            assert_int_equal(secret.size(), 32);
            assert_memory_equal(b.data() + 1, secret.data(), 32);
            // Re-encode from the secret alone.
            Bytes ver;
            ver.push_back(mainchain ? 0x80 : 0xef);
            ver.insert(ver.end(), secret.begin(), secret.end());
            if (compressed)
                ver.push_back(0x01);
            assert_string_equal(base58check_encode(ver).c_str(), str);
            assert_true(wif_ok(str));
            // A WIF key is never an address.
            ASSERT_ERR(parse_p2pkh_address(str, Network::main), Errc::bad_length);
            ++wif;
            continue;
        }

        assert_int_equal(b.size(), 21);
        assert_string_equal(base58check_encode(b).c_str(), str);
        if (b[0] == 0x00 || b[0] == 0x6f) {
            assert_int_equal(b[0], p2pkh_version(net));
            const std::string script = "76a914" + body_hex + "88ac";
            assert_string_equal(script.c_str(), lower(payload_hex).c_str());
            auto h = parse_p2pkh_address(str, net);
            assert_true(h.ok());
            assert_memory_equal(h->data(), b.data() + 1, 20);
            assert_string_equal(p2pkh_address(*h, net).c_str(), str);
            ASSERT_ERR(parse_p2pkh_address(str, other), Errc::bad_version);
            ++p2pkh;
        } else if (b[0] == 0x05 || b[0] == 0xc4) {
            assert_int_equal(b[0], mainchain ? 0x05 : 0xc4);
            const std::string script = "a914" + body_hex + "87";
            assert_string_equal(script.c_str(), lower(payload_hex).c_str());
            // P2SH is a valid Base58Check address but not an owner address.
            ASSERT_ERR(parse_p2pkh_address(str, Network::main), Errc::bad_version);
            ASSERT_ERR(parse_p2pkh_address(str, Network::test), Errc::bad_version);
            ++p2sh;
        } else {
            fail_msg("unexpected version byte 0x%02x in %s", b[0], str);
        }
    }
    json_decref(root);
    const size_t b58rows = wif + p2pkh + p2sh;
    print_message("key_io_valid.json: %zu Base58Check rows checked (%zu WIF, %zu P2PKH, %zu P2SH), "
                  "%zu bech32 rows rejected\n",
                  b58rows, wif, p2pkh, p2sh, bech32);
    assert_int_equal(b58rows, 38);
    assert_int_equal(wif, 16);
    assert_int_equal(p2pkh + p2sh, 22);
    assert_int_equal(bech32, 32);
}

void test_key_io_invalid(void **)
{
    json_t *root = pp::test::load_vectors("bitcoin/key_io_invalid.json");
    assert_true(json_is_array(root));
    size_t rows = 0, good_checksum = 0, i;
    json_t *row;
    json_array_foreach(root, i, row) {
        const char *str = json_string_value(json_array_get(row, 0));
        assert_non_null(str);
        if (parse_p2pkh_address(str, Network::main).ok())
            fail_msg("accepted as main address: %s", str);
        if (parse_p2pkh_address(str, Network::test).ok())
            fail_msg("accepted as test address: %s", str);
        if (wif_ok(str))
            fail_msg("accepted as WIF: %s", str);
        if (base58check_decode(str).ok())
            ++good_checksum;
        ++rows;
    }
    json_decref(root);
    print_message("key_io_invalid.json: %zu rows rejected (%zu with a valid Base58Check checksum)\n",
                  rows, good_checksum);
    assert_int_equal(rows, 70);
    assert_int_equal(good_checksum, 21);
}

// ---- hand-written cases ---------------------------------------------------

void test_known_address(void **)
{
    assert_string_equal(hex_encode(kPub1).c_str(),
                        "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
    const Hash160 h = pubkey_hash(pub33(kPub1));
    assert_string_equal(hex_encode(h).c_str(), "751e76e8199196d454941c45d1b3a323f1433bd6");
    assert_string_equal(p2pkh_address(pub33(kPub1), Network::main).c_str(),
                        "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH");
    assert_string_equal(p2pkh_address(h, Network::main).c_str(), "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH");

    auto m = parse_p2pkh_address("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", Network::main);
    assert_true(m.ok());
    assert_true(*m == h);
    ASSERT_ERR(parse_p2pkh_address("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", Network::test), Errc::bad_version);

    const std::string t = p2pkh_address(h, Network::test);
    assert_true(t[0] == 'm' || t[0] == 'n');
    // Independently computed with Python (hashlib + int conversion).
    assert_string_equal(t.c_str(), "mrCDrCybB6J1vRfbwM5hemdJz73FwDBC8r");
    assert_string_equal(p2pkh_address(pub33(kPub1), Network::test).c_str(), t.c_str());
    auto tp = parse_p2pkh_address(t, Network::test);
    assert_true(tp.ok());
    assert_true(*tp == h);
    ASSERT_ERR(parse_p2pkh_address(t, Network::main), Errc::bad_version);
}

void test_bad_alphabet(void **)
{
    const char *bad[] = {"0", "O", "I", "l", " ", "1Bg GZ", " 1BgGZ", "1BgGZ ", "1BgGZ\n", "+", "/", "=",
                         "1BgGZ0", "OBgGZ", "IBgGZ", "lBgGZ"};
    for (const char *s : bad) {
        ASSERT_ERR(base58_decode(s), Errc::bad_base58);
        ASSERT_ERR(base58check_decode(s), Errc::bad_base58);
        ASSERT_ERR(parse_p2pkh_address(s, Network::main), Errc::bad_base58);
    }
    // Non-ASCII: UTF-8 'é' and a lone high byte, and an embedded NUL.
    ASSERT_ERR(base58_decode("1BgG\xc3\xa9Z"), Errc::bad_base58);
    ASSERT_ERR(base58_decode("\xff"), Errc::bad_base58);
    ASSERT_ERR(base58_decode(std::string_view("1B\0g", 4)), Errc::bad_base58);
    // The alphabet itself round-trips: every one of the 58 characters is valid.
    const char *all = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    auto d = base58_decode(all);
    assert_true(d.ok());
    assert_string_equal(base58_encode(*d).c_str(), all);
}

void test_bad_checksum(void **)
{
    std::string a = "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH";
    // Change each character to a different valid digit: checksum must catch it.
    for (size_t i = 1; i < a.size(); ++i) {
        std::string t = a;
        t[i] = t[i] == 'z' ? 'y' : 'z';
        ASSERT_ERR(base58check_decode(t), Errc::bad_checksum);
        ASSERT_ERR(parse_p2pkh_address(t, Network::main), Errc::bad_checksum);
    }
    // Flip one payload bit and re-encode without fixing the checksum.
    auto raw = base58_decode(a);
    assert_true(raw.ok());
    raw->at(5) ^= 0x01;
    ASSERT_ERR(base58check_decode(base58_encode(*raw)), Errc::bad_checksum);
    // Flip a checksum bit.
    raw->at(5) ^= 0x01;
    raw->back() ^= 0x80;
    ASSERT_ERR(base58check_decode(base58_encode(*raw)), Errc::bad_checksum);
}

void test_short_and_empty(void **)
{
    // Raw Base58: empty is fine.
    auto e = base58_decode("");
    assert_true(e.ok());
    assert_true(e->empty());
    assert_string_equal(base58_encode({}).c_str(), "");
    // Base58Check needs version + 4 checksum bytes.
    ASSERT_ERR(base58check_decode(""), Errc::bad_length);
    ASSERT_ERR(parse_p2pkh_address("", Network::main), Errc::bad_length);
    ASSERT_ERR(base58check_decode("1"), Errc::bad_length);
    ASSERT_ERR(base58check_decode("1111"), Errc::bad_length);
    ASSERT_ERR(base58check_decode("zzzzz"), Errc::bad_length);  // 4 bytes
    // 4 bytes with a "correct" checksum of the empty body is still too short.
    const Hash256 c = sha256d({});
    ASSERT_ERR(base58check_decode(base58_encode(std::span<const uint8_t>(c.data(), 4))), Errc::bad_length);
    // Exactly 5 bytes: a bare version byte with its checksum decodes.
    const uint8_t v[] = {0x00};
    auto five = base58check_decode(base58check_encode(v));
    assert_true(five.ok());
    assert_int_equal(five->size(), 1);
    assert_int_equal((*five)[0], 0x00);
    // An empty versioned payload still encodes (4 checksum bytes) and then
    // fails decoding as too short, never crashes.
    ASSERT_ERR(base58check_decode(base58check_encode({})), Errc::bad_length);
}

void test_wrong_version_and_length(void **)
{
    const Hash160 h = pubkey_hash(pub33(kPub1));
    Bytes p;
    for (uint8_t ver : {uint8_t{0x05}, uint8_t{0xc4}, uint8_t{0x80}, uint8_t{0xef}, uint8_t{0x01}, uint8_t{0xff}}) {
        p.assign(1, ver);
        p.insert(p.end(), h.begin(), h.end());
        const std::string s = base58check_encode(p);
        assert_true(base58check_decode(s).ok());
        ASSERT_ERR(parse_p2pkh_address(s, Network::main), Errc::bad_version);
        ASSERT_ERR(parse_p2pkh_address(s, Network::test), Errc::bad_version);
    }
    // Right version, wrong payload length (19, 21, 32 and 0 hash bytes).
    for (size_t n : {size_t{19}, size_t{21}, size_t{32}, size_t{0}}) {
        p.assign(1, 0x00);
        for (size_t k = 0; k < n; ++k)
            p.push_back(static_cast<uint8_t>(k + 1));
        const std::string s = base58check_encode(p);
        assert_true(base58check_decode(s).ok());
        ASSERT_ERR(parse_p2pkh_address(s, Network::main), Errc::bad_length);
    }
    // A WIF key is not an address.
    ASSERT_ERR(parse_p2pkh_address("5JuW2AMDYu4xVwRG9DZW18VbzQrGcd5RCgb99sS6ehJsNQXu5b9", Network::main),
               Errc::bad_length);
}

void test_overlong(void **)
{
    std::string s(kMaxBase58Chars, '1');
    auto ok = base58_decode(s);  // at the bound: accepted
    assert_true(ok.ok());
    assert_int_equal(ok->size(), kMaxBase58Chars);
    s.push_back('1');
    ASSERT_ERR(base58_decode(s), Errc::bad_length);
    ASSERT_ERR(base58check_decode(s), Errc::bad_length);
    ASSERT_ERR(parse_p2pkh_address(s, Network::main), Errc::bad_length);
    // Length is checked before the alphabet, so huge junk costs nothing.
    std::string junk(1u << 20, '0');
    ASSERT_ERR(base58_decode(junk), Errc::bad_length);
    // An address is never longer than 34 characters; 100 valid digits is rejected.
    ASSERT_ERR(parse_p2pkh_address(std::string(100, 'z'), Network::main), Errc::bad_length);
    // The full bound of 'z's decodes in time and round-trips.
    const std::string zs(kMaxBase58Chars, 'z');
    auto big = base58_decode(zs);
    assert_true(big.ok());
    assert_string_equal(base58_encode(*big).c_str(), zs.c_str());
}

void test_roundtrip_leading_zeros(void **)
{
    for (size_t zeros = 0; zeros < 5; ++zeros) {
        for (size_t tail = 0; tail < 5; ++tail) {
            Bytes b(zeros, 0x00);
            for (size_t k = 0; k < tail; ++k)
                b.push_back(static_cast<uint8_t>(0xff - k));
            const std::string s = base58_encode(b);
            // Exactly one leading '1' per leading zero byte.
            const size_t ones = s.find_first_not_of('1') == std::string::npos ? s.size() : s.find_first_not_of('1');
            assert_int_equal(ones, zeros);
            auto d = base58_decode(s);
            assert_true(d.ok());
            assert_true(*d == b);
            auto c = base58check_decode(base58check_encode(b));
            if (b.empty()) {
                ASSERT_ERR(std::move(c), Errc::bad_length);
            } else {
                assert_true(c.ok());
                assert_true(*c == b);
            }
        }
    }
}

void test_parse_network(void **)
{
    auto m = parse_network("main");
    assert_true(m.ok() && *m == Network::main);
    m = parse_network("mainnet");
    assert_true(m.ok() && *m == Network::main);
    auto t = parse_network("test");
    assert_true(t.ok() && *t == Network::test);
    t = parse_network("testnet");
    assert_true(t.ok() && *t == Network::test);
    for (const char *s : {"", "Main", "MAINNET", "testnet4", "regtest", "signet", " main", "main "})
        ASSERT_ERR(parse_network(s), Errc::invalid_argument);
    assert_int_equal(p2pkh_version(Network::main), 0x00);
    assert_int_equal(p2pkh_version(Network::test), 0x6f);
}

}  // namespace

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_decode_vectors),
        cmocka_unit_test(test_key_io_valid),
        cmocka_unit_test(test_key_io_invalid),
        cmocka_unit_test(test_known_address),
        cmocka_unit_test(test_bad_alphabet),
        cmocka_unit_test(test_bad_checksum),
        cmocka_unit_test(test_short_and_empty),
        cmocka_unit_test(test_wrong_version_and_length),
        cmocka_unit_test(test_overlong),
        cmocka_unit_test(test_roundtrip_leading_zeros),
        cmocka_unit_test(test_parse_network),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

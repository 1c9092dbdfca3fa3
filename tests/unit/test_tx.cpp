// SPDX-License-Identifier: MIT
// Transactions: bsv/sighash.json (both digest columns, all rows), wire
// round trips, parser rejection of hostile bytes, script templates, varints.
#include <algorithm>
#include <array>
#include <iterator>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/tx.h"
#include "vectors.h"

using namespace pp;
using namespace pp::crypto;
using pp::test::unhex;

namespace {

std::string reversed_hex(Hash256 h)
{
    std::reverse(h.begin(), h.end());
    return hex_encode(h);
}

// A small two-input, two-output transaction for hand-built checks.
Tx sample_tx()
{
    Tx tx;
    tx.version = 1;
    for (uint8_t i = 0; i < 2; ++i) {
        TxIn in;
        in.prevout.txid.fill(static_cast<uint8_t>(0x11 * (i + 1)));
        in.prevout.vout = i;
        in.script_sig = {0x51, i};
        in.sequence = 0xfffffffe - i;
        tx.inputs.push_back(in);
    }
    Hash160 pkh{};
    pkh.fill(0x42);
    tx.outputs.push_back(TxOut{1000, p2pkh_script(pkh)});
    tx.outputs.push_back(TxOut{0, op_return_script(std::vector<Bytes>{Bytes{'p', 'p'}})});
    tx.locktime = 7;
    return tx;
}

void put_u32(Bytes &b, uint32_t v)
{
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put_u64(Bytes &b, uint64_t v)
{
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// Legacy SIGHASH_ALL preimage for a one-input, one-output tx, built by hand
// from a script code that the caller has already serialized (prefix + bytes).
Hash256 manual_legacy_all(const Tx &tx, const Bytes &script_code_field)
{
    Bytes pre;
    put_u32(pre, tx.version);
    pre.push_back(1);
    pre.insert(pre.end(), tx.inputs[0].prevout.txid.begin(), tx.inputs[0].prevout.txid.end());
    put_u32(pre, tx.inputs[0].prevout.vout);
    pre.insert(pre.end(), script_code_field.begin(), script_code_field.end());
    put_u32(pre, tx.inputs[0].sequence);
    pre.push_back(1);
    put_u64(pre, tx.outputs[0].satoshis);
    pre.push_back(static_cast<uint8_t>(tx.outputs[0].script.size()));
    pre.insert(pre.end(), tx.outputs[0].script.begin(), tx.outputs[0].script.end());
    put_u32(pre, tx.locktime);
    put_u32(pre, SIGHASH_ALL);
    return sha256d(pre);
}

}  // namespace

static void test_sighash_vectors(void **)
{
    json_t *root = pp::test::load_vectors("bsv/sighash.json");
    assert_true(json_is_array(root));
    size_t rows = 0, regular_ok = 0, legacy_ok = 0, roundtrip_ok = 0, forkid_rows = 0;
    for (size_t i = 0; i < json_array_size(root); ++i) {
        json_t *row = json_array_get(root, i);
        assert_true(json_is_array(row));
        if (json_array_size(row) == 1) continue;  // comment rows
        assert_int_equal(json_array_size(row), 6);
        const char *tx_hex = json_string_value(json_array_get(row, 0));
        const char *script_hex = json_string_value(json_array_get(row, 1));
        json_t *n_in = json_array_get(row, 2);
        json_t *ht = json_array_get(row, 3);
        const char *want_regular = json_string_value(json_array_get(row, 4));
        const char *want_legacy = json_string_value(json_array_get(row, 5));
        assert_non_null(tx_hex);
        assert_non_null(script_hex);
        assert_non_null(want_regular);
        assert_non_null(want_legacy);
        assert_true(json_is_integer(n_in) && json_is_integer(ht));
        assert_true(json_integer_value(n_in) >= 0);
        ++rows;

        Bytes raw = unhex(tx_hex);
        Bytes script = unhex(script_hex);
        auto input_index = static_cast<size_t>(json_integer_value(n_in));
        // Signed JSON int -> the low 32 bits, as the README prescribes.
        auto hashtype = static_cast<uint32_t>(static_cast<uint64_t>(json_integer_value(ht)) &
                                              0xffffffffULL);
        if (hashtype & SIGHASH_FORKID) ++forkid_rows;

        auto tx = parse_tx(raw);
        if (!tx) {
            print_message("row %zu: parse_tx failed: %s\n", i,
                          std::string(errc_name(tx.error())).c_str());
            continue;
        }
        if (serialize(*tx) == raw) ++roundtrip_ok;

        auto regular = signature_hash(*tx, input_index, script, 0, hashtype);
        auto legacy = sighash_legacy(*tx, input_index, script, hashtype);
        assert_true(regular.ok());
        assert_true(legacy.ok());
        if (reversed_hex(*regular) == want_regular)
            ++regular_ok;
        else
            print_message("row %zu: regular mismatch\n", i);
        if (reversed_hex(*legacy) == want_legacy)
            ++legacy_ok;
        else
            print_message("row %zu: legacy mismatch\n", i);
    }
    json_decref(root);
    print_message("sighash.json: %zu rows (%zu with FORKID), regular %zu/%zu, legacy %zu/%zu, "
                  "round trip %zu/%zu\n",
                  rows, forkid_rows, regular_ok, rows, legacy_ok, rows, roundtrip_ok, rows);
    assert_int_equal(rows, 1000);
    assert_int_equal(regular_ok, rows);
    assert_int_equal(legacy_ok, rows);
    assert_int_equal(roundtrip_ok, rows);
}

static void test_push_data_boundaries(void **)
{
    struct Case {
        size_t len;
        Bytes prefix;
    };
    const Case cases[] = {
        {0, {0x00}},
        {1, {0x01}},
        {75, {0x4b}},
        {76, {0x4c, 0x4c}},
        {255, {0x4c, 0xff}},
        {256, {0x4d, 0x00, 0x01}},
        {65535, {0x4d, 0xff, 0xff}},
        {65536, {0x4e, 0x00, 0x00, 0x01, 0x00}},
    };
    for (const auto &c : cases) {
        Bytes data(c.len, 0x5a);
        Bytes s{0xee};  // push_data appends; existing bytes stay
        push_data(s, data);
        assert_int_equal(s.size(), 1 + c.prefix.size() + c.len);
        assert_int_equal(s[0], 0xee);
        assert_memory_equal(s.data() + 1, c.prefix.data(), c.prefix.size());
        assert_true(std::all_of(s.begin() + 1 + static_cast<std::ptrdiff_t>(c.prefix.size()),
                                s.end(), [](uint8_t b) { return b == 0x5a; }));
    }
    print_message("push_data: %zu boundary lengths\n", std::size(cases));
}

static void test_op_return_and_script_sig(void **)
{
    std::vector<Bytes> pushes{Bytes{'a', 'b', 'c'}, Bytes{}, Bytes(80, 0x01)};
    Bytes s = op_return_script(pushes);
    Bytes want{0x00, 0x6a, 0x03, 'a', 'b', 'c', 0x00, 0x4c, 80};
    want.insert(want.end(), 80, 0x01);
    assert_true(s == want);
    assert_true(op_return_script({}) == (Bytes{0x00, 0x6a}));

    Bytes sig(71, 0x30);
    sig.back() = 0x41;
    std::array<uint8_t, 33> pub{};
    pub.fill(0x02);
    Bytes ss = p2pkh_script_sig(sig, pub);
    assert_int_equal(ss.size(), 1 + 71 + 1 + 33);
    assert_int_equal(ss[0], 71);
    assert_int_equal(ss[72], 33);
    assert_memory_equal(ss.data() + 1, sig.data(), sig.size());
    assert_memory_equal(ss.data() + 73, pub.data(), pub.size());
}

static void test_p2pkh(void **)
{
    Hash160 h{};
    for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(i * 7 + 1);
    Bytes s = p2pkh_script(h);
    Bytes want = unhex("76a914" "01080f161d242b323940474e555c636a71787f86" "88ac");
    assert_true(s == want);
    auto back = p2pkh_script_hash(s);
    assert_true(back.ok());
    assert_memory_equal(back->data(), h.data(), h.size());

    // Any change to a template byte, or to the length, is rejected.
    size_t rejected = 0;
    for (size_t pos : {size_t{0}, size_t{1}, size_t{2}, size_t{23}, size_t{24}}) {
        Bytes bad = s;
        bad[pos] ^= 0x01;
        assert_int_equal(p2pkh_script_hash(bad).error(), Errc::invalid_argument);
        ++rejected;
    }
    Bytes longer = s;
    longer.push_back(0x00);
    Bytes shorter(s.begin(), s.end() - 1);
    Bytes pushdata_form = unhex("76a94c14" "01080f161d242b323940474e555c636a71787f86" "88ac");
    Bytes p2sh = unhex("a914" "01080f161d242b323940474e555c636a71787f86" "87");
    for (const Bytes *b : {&longer, &shorter, &pushdata_form, &p2sh}) {
        assert_int_equal(p2pkh_script_hash(*b).error(), Errc::invalid_argument);
        ++rejected;
    }
    assert_int_equal(p2pkh_script_hash({}).error(), Errc::invalid_argument);
    print_message("p2pkh: round trip ok, %zu near misses rejected\n", rejected + 1);
}

static void test_varint(void **)
{
    struct Case {
        uint64_t v;
        const char *hex;
    };
    const Case cases[] = {
        {0, "00"},
        {0xfc, "fc"},
        {0xfd, "fdfd00"},
        {0xffff, "fdffff"},
        {0x10000, "fe00000100"},
        {0xffffffff, "feffffffff"},
        {0x100000000ULL, "ff0000000001000000"},
        {UINT64_MAX, "ffffffffffffffffff"},
    };
    for (const auto &c : cases) {
        Bytes out{0x99};
        write_varint(out, c.v);
        Bytes want = unhex(c.hex);
        assert_int_equal(out.size(), 1 + want.size());
        assert_memory_equal(out.data() + 1, want.data(), want.size());

        size_t pos = 1;
        auto r = read_varint(out, pos);
        assert_true(r.ok());
        assert_true(*r == c.v);
        assert_int_equal(pos, out.size());
    }

    // Non-canonical (would fit a shorter form) and truncated encodings fail
    // and leave pos untouched.
    const char *bad[] = {
        "fdfc00", "fd0000", "feffff0000", "fe00000000", "ffffffffff00000000", "ff0000000000000000",
        "", "fd", "fdff", "fe000001", "ff00000000010000",
    };
    for (const char *hex : bad) {
        Bytes b = unhex(hex);
        size_t pos = 0;
        auto r = read_varint(b, pos);
        assert_int_equal(r.error(), Errc::parse_error);
        assert_int_equal(pos, 0);
    }
    size_t past_end = 5;
    Bytes one{0x01};
    assert_int_equal(read_varint(one, past_end).error(), Errc::parse_error);
    print_message("varint: %zu round trips, %zu rejects\n", std::size(cases), std::size(bad) + 1);
}

static const char kGenesisTx[] =
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff00"
    "1d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b"
    "206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a0100000043410467"
    "8afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec1"
    "12de5c384df7ba0b8d578a4c702b6bf11d5fac00000000";
static const char kGenesisTxid[] = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";

static void test_txid_genesis(void **)
{
    Bytes raw = unhex(kGenesisTx);
    auto tx = parse_tx(raw);
    assert_true(tx.ok());
    assert_int_equal(tx->inputs.size(), 1);
    assert_int_equal(tx->outputs.size(), 1);
    assert_true(tx->outputs[0].satoshis == 5000000000ULL);
    assert_true(serialize(*tx) == raw);
    assert_string_equal(txid_hex(*tx).c_str(), kGenesisTxid);

    auto internal = txid_from_hex(kGenesisTxid);
    assert_true(internal.ok());
    assert_true(*internal == txid_internal(*tx));
    assert_int_equal(internal->at(0), 0x3b);  // internal order is the display order reversed
    assert_int_equal(txid_from_hex("4a5e").error(), Errc::bad_length);
    std::string not_hex(64, 'g');
    assert_int_equal(txid_from_hex(not_hex).error(), Errc::bad_hex);
}

static void test_parse_rejects(void **)
{
    Tx tx = sample_tx();
    Bytes raw = serialize(tx);
    auto back = parse_tx(raw);
    assert_true(back.ok());
    assert_true(serialize(*back) == raw);
    assert_true(txid_internal(*back) == txid_internal(tx));

    // Every proper prefix is truncated.
    for (size_t n = 0; n < raw.size(); ++n)
        assert_int_equal(parse_tx(std::span(raw).first(n)).error(), Errc::parse_error);

    Bytes trailing = raw;
    trailing.push_back(0x00);
    assert_int_equal(parse_tx(trailing).error(), Errc::parse_error);

    // Absurd input count: must fail before trying to allocate it.
    Bytes huge = unhex("01000000" "ffffffffffffffffff");
    huge.resize(huge.size() + 100, 0);
    assert_int_equal(parse_tx(huge).error(), Errc::parse_error);
    Bytes many_in = unhex("01000000" "fe00000010");  // 2^28 inputs, a few bytes of data
    many_in.resize(many_in.size() + 200, 0);
    assert_int_equal(parse_tx(many_in).error(), Errc::parse_error);

    // Absurd output count after a valid input.
    Bytes one_in = unhex("0100000001");
    one_in.resize(one_in.size() + 36, 0xaa);
    one_in.push_back(0x00);  // empty script_sig
    put_u32(one_in, 0xffffffff);
    Bytes many_out = one_in;
    many_out.push_back(0xfd);
    many_out.push_back(0xff);
    many_out.push_back(0xff);
    many_out.resize(many_out.size() + 64, 0);
    assert_int_equal(parse_tx(many_out).error(), Errc::parse_error);

    // Script length larger than the rest of the buffer.
    Bytes long_script = unhex("0100000001");
    long_script.resize(long_script.size() + 36, 0xaa);
    long_script.insert(long_script.end(), {0xfe, 0xff, 0xff, 0xff, 0x7f});
    long_script.resize(long_script.size() + 64, 0);
    assert_int_equal(parse_tx(long_script).error(), Errc::parse_error);

    // Non-canonical count.
    Bytes noncanon = unhex("01000000" "fd0100");
    noncanon.insert(noncanon.end(), raw.begin() + 5, raw.end());
    assert_int_equal(parse_tx(noncanon).error(), Errc::parse_error);

    // Amounts: above MAX_MONEY, and a sum above it, are out_of_range.
    Tx rich = tx;
    rich.outputs[0].satoshis = MAX_MONEY + 1;
    assert_int_equal(parse_tx(serialize(rich)).error(), Errc::out_of_range);
    rich.outputs[0].satoshis = MAX_MONEY;
    assert_true(parse_tx(serialize(rich)).ok());
    rich.outputs[1].satoshis = 1;
    assert_int_equal(parse_tx(serialize(rich)).error(), Errc::out_of_range);
    rich.outputs[0].satoshis = UINT64_MAX;
    assert_int_equal(parse_tx(serialize(rich)).error(), Errc::out_of_range);

    // Zero inputs and outputs still decode (a syntactic parser).
    Tx empty;
    auto e = parse_tx(serialize(empty));
    assert_true(e.ok());
    assert_int_equal(serialize(empty).size(), 10);
    print_message("parse_tx: %zu truncations and hostile forms rejected\n", raw.size() + 9);
}

static void test_sighash_index_and_amount(void **)
{
    Tx tx = sample_tx();
    Bytes code = tx.outputs[0].script;
    const uint32_t all_forkid = SIGHASH_ALL | SIGHASH_FORKID;
    assert_int_equal(signature_hash(tx, 2, code, 0, all_forkid).error(), Errc::out_of_range);
    assert_int_equal(signature_hash(tx, 2, code, 0, SIGHASH_ALL).error(), Errc::out_of_range);
    assert_int_equal(sighash_forkid(tx, 5, code, 0, all_forkid).error(), Errc::out_of_range);
    assert_int_equal(sighash_legacy(tx, 2, code, SIGHASH_ALL).error(), Errc::out_of_range);
    assert_int_equal(sighash_legacy(Tx{}, 0, code, SIGHASH_ALL).error(), Errc::out_of_range);

    auto zero = signature_hash(tx, 0, code, 0, all_forkid);
    auto paid = signature_hash(tx, 0, code, 150000, all_forkid);
    auto paid2 = sighash_forkid(tx, 0, code, 150000, all_forkid);
    assert_true(zero.ok() && paid.ok() && paid2.ok());
    assert_true(*zero != *paid);
    assert_true(*paid == *paid2);
    // The legacy digest is not what a FORKID signature commits to.
    assert_true(*paid != *sighash_legacy(tx, 0, code, all_forkid));
    // Every input gets its own digest.
    assert_true(*paid != *signature_hash(tx, 1, code, 150000, all_forkid));

    // Hand-built BIP143-style preimage for ALL|FORKID with a real amount.
    Bytes prevouts, seqs, outs, pre;
    for (const auto &in : tx.inputs) {
        prevouts.insert(prevouts.end(), in.prevout.txid.begin(), in.prevout.txid.end());
        put_u32(prevouts, in.prevout.vout);
        put_u32(seqs, in.sequence);
    }
    for (const auto &o : tx.outputs) {
        put_u64(outs, o.satoshis);
        outs.push_back(static_cast<uint8_t>(o.script.size()));
        outs.insert(outs.end(), o.script.begin(), o.script.end());
    }
    put_u32(pre, tx.version);
    Hash256 hp = sha256d(prevouts), hs = sha256d(seqs), ho = sha256d(outs);
    pre.insert(pre.end(), hp.begin(), hp.end());
    pre.insert(pre.end(), hs.begin(), hs.end());
    pre.insert(pre.end(), tx.inputs[1].prevout.txid.begin(), tx.inputs[1].prevout.txid.end());
    put_u32(pre, tx.inputs[1].prevout.vout);
    pre.push_back(static_cast<uint8_t>(code.size()));
    pre.insert(pre.end(), code.begin(), code.end());
    put_u64(pre, 150000);
    put_u32(pre, tx.inputs[1].sequence);
    pre.insert(pre.end(), ho.begin(), ho.end());
    put_u32(pre, tx.locktime);
    put_u32(pre, all_forkid);
    assert_true(*signature_hash(tx, 1, code, 150000, all_forkid) == sha256d(pre));
}

static void test_legacy_quirks(void **)
{
    // SINGLE with no matching output signs the constant 1.
    Tx tx = sample_tx();
    tx.outputs.pop_back();
    Bytes code{0xac};
    auto one = sighash_legacy(tx, 1, code, SIGHASH_SINGLE);
    assert_true(one.ok());
    Hash256 want{};
    want[0] = 1;
    assert_true(*one == want);
    assert_string_equal(reversed_hex(*one).c_str(),
                        "0000000000000000000000000000000000000000000000000000000000000001");
    // The FORKID digest has no such bug: it zeroes hashOutputs instead.
    auto forkid = signature_hash(tx, 1, code, 0, SIGHASH_SINGLE | SIGHASH_FORKID);
    assert_true(forkid.ok());
    assert_true(*forkid != want);

    // OP_CODESEPARATOR removal walks opcodes: a 0xab inside push data stays.
    Tx one_io;
    one_io.inputs.push_back(TxIn{});
    one_io.inputs[0].prevout.txid.fill(0x07);
    one_io.outputs.push_back(TxOut{5, Bytes{0x51}});
    struct Case {
        const char *script;
        const char *field;  // varint prefix + bytes the node hashes
    };
    const Case cases[] = {
        {"", "00"},
        {"ab", "00"},
        {"51ab52abab", "025152"},
        {"4c01abab", "034c01ab"},         // PUSHDATA1 of 0xab, then a separator
        {"02abab", "0302abab"},           // direct push of two 0xab bytes
        {"4d0100abab", "044d0100ab"},     // PUSHDATA2
        {"4e01000000abab", "064e01000000ab"},
        // Truncated pushes: the walk stops there. The prefix is the size
        // minus the separators seen so far; the bytes end where the node's
        // iterator stopped (after the opcode and any length bytes read).
        {"ab050102", "0305"},
        {"ab4c", "014c"},
        {"ab4d01", "024d"},
        {"ab4c05ab", "034c05"},
        {"51ab4e0100", "04514e"},
    };
    size_t checked = 0;
    for (const auto &c : cases) {
        Bytes script = unhex(c.script);
        auto got = sighash_legacy(one_io, 0, script, SIGHASH_ALL);
        assert_true(got.ok());
        if (*got != manual_legacy_all(one_io, unhex(c.field)))
            fail_msg("script %s: script-code serialization differs", c.script);
        ++checked;
    }
    print_message("legacy script code: %zu cases\n", checked);

    Bytes with_sep = unhex("51ab52");
    Bytes without_sep = unhex("5152");
    assert_true(*sighash_legacy(one_io, 0, with_sep, SIGHASH_ALL) ==
                *sighash_legacy(one_io, 0, without_sep, SIGHASH_ALL));
    assert_true(*sighash_forkid(one_io, 0, with_sep, 0, SIGHASH_ALL | SIGHASH_FORKID) !=
                *sighash_forkid(one_io, 0, without_sep, 0, SIGHASH_ALL | SIGHASH_FORKID));
}

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sighash_vectors),
        cmocka_unit_test(test_push_data_boundaries),
        cmocka_unit_test(test_op_return_and_script_sig),
        cmocka_unit_test(test_p2pkh),
        cmocka_unit_test(test_varint),
        cmocka_unit_test(test_txid_genesis),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_sighash_index_and_amount),
        cmocka_unit_test(test_legacy_quirks),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

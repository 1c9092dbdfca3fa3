// SPDX-License-Identifier: MIT
// Transaction builder: fee arithmetic, layout of the built transaction,
// FORKID sighashes checked against an independent recomputation, scriptSig
// assembly from signatures made locally (standing in for the KMS), and every
// refusal: no inputs, bad scripts, not enough money, wrong signature count,
// wrong pubkey, bad or high-S signatures. Keys come from a printed seed
// (PP_TEST_SEED to replay one).
#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include "txbuilder_support.h"

using namespace pp;
using namespace pp::crypto;
using namespace pp::test;
using pp::chain::BuildParams;
using pp::chain::FundingInput;
using pp::chain::UnsignedTx;

namespace {

Bytes record_of(size_t n)
{
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>('a' + i % 26);
    return b;
}

// Everything a node would look at, from the raw bytes alone.
void check_signed(const Bytes &raw, const BuildParams &p, const UnsignedTx &utx)
{
    auto tx = parse_tx(raw);
    assert_true(tx.ok());
    assert_int_equal(tx->version, 1);
    assert_int_equal(tx->locktime, 0);
    assert_int_equal(tx->inputs.size(), p.inputs.size());

    // Output 0: 00 6a + minimal pushes of the record bytes, 0 satoshis.
    assert_true(tx->outputs.size() == 1 || tx->outputs.size() == 2);
    const TxOut &data = tx->outputs[0];
    assert_int_equal(data.satoshis, 0);
    Bytes want{0x00, 0x6a};
    for (const Bytes &push : p.data_pushes) {
        const size_t n = push.size();
        if (n < 76) {
            want.push_back(static_cast<uint8_t>(n));
        } else if (n <= 0xff) {
            want.insert(want.end(), {0x4c, static_cast<uint8_t>(n)});
        } else if (n <= 0xffff) {
            want.insert(want.end(), {0x4d, static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8)});
        } else {
            want.insert(want.end(), {0x4e, static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8),
                                     static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 24)});
        }
        want.insert(want.end(), push.begin(), push.end());
    }
    assert_true(data.script == want);

    uint64_t in_total = 0, out_total = 0;
    for (const FundingInput &in : p.inputs) in_total += in.satoshis;
    for (const TxOut &o : tx->outputs) out_total += o.satoshis;
    if (tx->outputs.size() == 2) {
        assert_true(utx.change_vout.has_value());
        assert_int_equal(*utx.change_vout, 1);
        assert_true(tx->outputs[1].script == p.change_script);
        assert_int_equal(tx->outputs[1].satoshis, utx.change_satoshis);
        assert_true(utx.change_satoshis >= chain::kDustLimit);
    } else {
        assert_false(utx.change_vout.has_value());
    }
    assert_int_equal(in_total - out_total, utx.fee);
    // The fee pays at least the rate on the real size, and the estimate
    // (107-byte scriptSigs) overshoots it by a few bytes per input only.
    assert_true(utx.fee >= ceil_fee(raw.size(), p.fee_per_kb));
    if (tx->outputs.size() == 2)
        assert_true(utx.fee <= ceil_fee(raw.size() + 4 * p.inputs.size(), p.fee_per_kb));

    for (size_t i = 0; i < tx->inputs.size(); ++i) {
        const TxIn &in = tx->inputs[i];
        const FundingInput &f = p.inputs[i];
        auto prev = txid_from_hex(f.txid);
        assert_true(prev.ok());
        assert_true(in.prevout.txid == *prev);
        assert_int_equal(in.prevout.vout, f.vout);
        assert_int_equal(in.sequence, 0xffffffff);
        // scriptSig = <len> DER||41 0x21 pubkey
        const Bytes &ss = in.script_sig;
        assert_true(ss.size() > 36);
        const size_t sig_len = ss[0];
        assert_true(sig_len >= 9 && sig_len <= 73);
        assert_int_equal(ss.size(), 1 + sig_len + 1 + 33);
        assert_int_equal(ss[sig_len], 0x41);
        assert_int_equal(ss[1 + sig_len], 33);
        PubKey33 pub{};
        std::copy(ss.begin() + 2 + sig_len, ss.end(), pub.begin());
        assert_string_equal(hex_encode(pub).c_str(), f.key_id.c_str());
        auto pk = parse_pubkey(pub);
        assert_true(pk.ok());
        auto digest = sighash_forkid(*tx, i, f.script, f.satoshis, SIGHASH_ALL | SIGHASH_FORKID);
        assert_true(digest.ok());
        assert_true(*digest == utx.sighashes[i]);
        std::span<const uint8_t> der(ss.data() + 1, sig_len - 1);
        assert_true(ecdsa_verify_der(der, *digest, *pk).ok());
    }
}

// ---- fee arithmetic ----------------------------------------------------

void fee_arithmetic(void **)
{
    // 4 version + 1 + 1 + 4 locktime, input 32+4+1+107+4, data 8+1+(2+1+10), change 8+1+25.
    assert_int_equal(chain::estimate_tx_size(1, 13, true), 10 + 148 + 22 + 34);
    assert_int_equal(chain::estimate_tx_size(1, 13, false), 10 + 148 + 22);
    assert_int_equal(chain::estimate_tx_size(3, 13, true), 10 + 3 * 148 + 22 + 34);
    // A 253-byte script needs a 3-byte varint for its length.
    assert_int_equal(chain::estimate_tx_size(1, 253, false), 10 + 148 + 8 + 3 + 253);

    assert_int_equal(chain::estimate_fee(1, 10, true, 500), 107);   // 214 bytes · 0.5
    assert_int_equal(chain::estimate_fee(1, 10, false, 500), 90);   // 180 bytes · 0.5
    assert_int_equal(chain::estimate_fee(1, 11, true, 500), 108);   // 215 · 0.5 = 107.5 → 108
    assert_int_equal(chain::estimate_fee(1, 10, true, 1), 1);       // 0.214 → at least 1
    assert_int_equal(chain::estimate_fee(1, 10, true, 0), 0);
    assert_int_equal(chain::estimate_fee(2, 10, true, 1000), 214 + 148);
    // Push opcode sizes: 75 → 1, 76 → 2, 256 → 3, 65536 → 5 bytes.
    assert_int_equal(chain::estimate_fee(1, 75, false, 1000), 10 + 148 + 8 + 1 + 2 + 1 + 75);
    assert_int_equal(chain::estimate_fee(1, 76, false, 1000), 10 + 148 + 8 + 1 + 2 + 2 + 76);
    assert_int_equal(chain::estimate_fee(1, 256, false, 1000), 10 + 148 + 8 + 3 + 2 + 3 + 256);
    assert_int_equal(chain::estimate_fee(1, 65536, false, 1000), 10 + 148 + 8 + 5 + 2 + 5 + 65536);

    assert_int_equal(chain::required_funding(10, 1, 500), 107 + chain::kDustLimit);
    assert_int_equal(chain::required_funding(10, 3, 1000), 214 + 2 * 148 + chain::kDustLimit);
    assert_int_equal(chain::required_funding(10, 1, 0), chain::kDustLimit);
    print_message("fees: sizes with 107-byte scriptSigs, ceil(size·rate/1000) with a 1-sat floor, "
                  "push-opcode and varint steps, required_funding = fee + dust\n");
}

// ---- build, sign, attach ------------------------------------------------

void build_one_input(void **)
{
    Key k = make_key(1), change = make_key(99);
    BuildParams p;
    p.data_pushes = {record_of(120)};
    p.inputs = {funding(k, 1, 10'000)};
    p.change_script = change.script;
    p.fee_per_kb = 500;
    auto utx = chain::build_unsigned(p);
    assert_true(utx.ok());
    assert_int_equal(utx->sighashes.size(), 1);
    assert_int_equal(utx->fee, chain::estimate_fee(1, 120, true, 500));
    assert_int_equal(utx->change_satoshis, 10'000 - utx->fee);
    // Unsigned: no scriptSig yet.
    assert_true(utx->tx.inputs[0].script_sig.empty());

    auto sigs = sign_all(*utx, {&k});
    auto raw = chain::attach_signatures(*utx, p.inputs, sigs);
    assert_true(raw.ok());
    check_signed(*raw, p, *utx);
    assert_true(serialize(utx->tx) == *raw);
    print_message("build: 1 input, fee %llu, change %llu, %zu bytes signed\n", (unsigned long long)utx->fee,
                  (unsigned long long)utx->change_satoshis, raw->size());
}

void build_three_inputs(void **)
{
    Key a = make_key(1), b = make_key(2), c = make_key(3), change = make_key(99);
    BuildParams p;
    p.data_pushes = {record_of(300), record_of(5)};
    p.inputs = {funding(a, 1, 700), funding(b, 2, 800), funding(a, 3, 900)};
    p.inputs.push_back(funding(c, 4, 50));
    p.change_script = change.script;
    p.fee_per_kb = 1000;
    auto utx = chain::build_unsigned(p);
    assert_true(utx.ok());
    assert_int_equal(utx->sighashes.size(), 4);
    // Distinct inputs give distinct digests.
    for (size_t i = 0; i < 4; ++i)
        for (size_t j = i + 1; j < 4; ++j) assert_false(utx->sighashes[i] == utx->sighashes[j]);
    auto sigs = sign_all(*utx, {&a, &b, &a, &c});
    auto raw = chain::attach_signatures(*utx, p.inputs, sigs);
    assert_true(raw.ok());
    check_signed(*raw, p, *utx);

    // Also the plain three-input case of the brief, with the same key twice.
    BuildParams q = p;
    q.inputs.pop_back();
    q.data_pushes = {record_of(64)};
    auto utx3 = chain::build_unsigned(q);
    assert_true(utx3.ok());
    auto raw3 = chain::attach_signatures(*utx3, q.inputs, sign_all(*utx3, {&a, &b, &a}));
    assert_true(raw3.ok());
    check_signed(*raw3, q, *utx3);
    print_message("build: 4 and 3 inputs (two keys reused), two pushes; every scriptSig verifies against an "
                  "independently recomputed FORKID sighash\n");
}

void record_sizes(void **)
{
    Key k = make_key(7), change = make_key(99);
    for (size_t n : {size_t{0}, size_t{75}, size_t{76}, size_t{255}, size_t{256}, size_t{70000}}) {
        BuildParams p;
        p.data_pushes = {record_of(n)};
        p.inputs = {funding(k, 9, 1'000'000)};
        p.change_script = change.script;
        p.fee_per_kb = 50;
        auto utx = chain::build_unsigned(p);
        assert_true(utx.ok());
        assert_int_equal(utx->fee, chain::estimate_fee(1, n, true, 50));
        auto raw = chain::attach_signatures(*utx, p.inputs, sign_all(*utx, {&k}));
        assert_true(raw.ok());
        check_signed(*raw, p, *utx);
    }
    print_message("records of 0, 75, 76, 255, 256, 70000 bytes: OP_0 / direct / PUSHDATA1 / PUSHDATA2 / "
                  "PUSHDATA4 exactly, fees match estimate_fee\n");
}

void dust_change_dropped(void **)
{
    Key k = make_key(1), change = make_key(99);
    BuildParams p;
    p.data_pushes = {record_of(40)};
    p.change_script = change.script;
    p.fee_per_kb = 500;
    const uint64_t with = chain::estimate_fee(1, 40, true, 500);
    const uint64_t without = chain::estimate_fee(1, 40, false, 500);
    assert_true(without < with);

    // Exactly the fee with change: change would be 0 → dropped, all to fee.
    p.inputs = {funding(k, 1, with)};
    auto utx = chain::build_unsigned(p);
    assert_true(utx.ok());
    assert_false(utx->change_vout.has_value());
    assert_int_equal(utx->tx.outputs.size(), 1);
    assert_int_equal(utx->fee, with);
    auto raw = chain::attach_signatures(*utx, p.inputs, sign_all(*utx, {&k}));
    assert_true(raw.ok());
    check_signed(*raw, p, *utx);

    // Exactly the fee without change still works.
    p.inputs = {funding(k, 1, without)};
    utx = chain::build_unsigned(p);
    assert_true(utx.ok());
    assert_int_equal(utx->fee, without);
    assert_int_equal(utx->tx.outputs.size(), 1);

    // One satoshi of change is not dust (kDustLimit = 1): kept.
    p.inputs = {funding(k, 1, with + 1)};
    utx = chain::build_unsigned(p);
    assert_true(utx.ok());
    assert_true(utx->change_vout.has_value());
    assert_int_equal(utx->change_satoshis, 1);

    // required_funding is the first amount that yields change.
    p.inputs = {funding(k, 1, chain::required_funding(40, 1, 500))};
    utx = chain::build_unsigned(p);
    assert_true(utx.ok());
    assert_true(utx->change_vout.has_value());

    // One satoshi short of the fee without change: out_of_range.
    p.inputs = {funding(k, 1, without - 1)};
    assert_errc(chain::build_unsigned(p), Errc::out_of_range);
    // Spread over three inputs, still short.
    p.inputs = {funding(k, 1, 100), funding(k, 2, 100), funding(k, 3, 100)};
    p.data_pushes = {record_of(2000)};
    assert_errc(chain::build_unsigned(p), Errc::out_of_range);
    print_message("change: == fee → dropped (fee %llu), fee+1 → 1-sat change, fee-without − 1 → out_of_range\n",
                  (unsigned long long)with);
}

void build_refusals(void **)
{
    Key k = make_key(1), other = make_key(2), change = make_key(99);
    BuildParams good;
    good.data_pushes = {record_of(10)};
    good.inputs = {funding(k, 1, 5000)};
    good.change_script = change.script;
    assert_true(chain::build_unsigned(good).ok());

    BuildParams p = good;
    p.inputs.clear();
    assert_errc(chain::build_unsigned(p), Errc::invalid_argument);

    p = good;
    p.change_script = Bytes{0x6a};
    assert_errc(chain::build_unsigned(p), Errc::invalid_argument);

    p = good;
    p.inputs[0].script = Bytes{0x51};
    assert_errc(chain::build_unsigned(p), Errc::invalid_argument);

    p = good;  // key and script of different keys
    p.inputs[0].key_id = other.key_id;
    assert_errc(chain::build_unsigned(p), Errc::invalid_argument);

    p = good;  // a private key where a key id belongs
    p.inputs[0].key_id = hex_encode(k.sk.span());
    assert_errc(chain::build_unsigned(p), Errc::invalid_argument);

    p = good;
    p.inputs[0].txid = "zz" + fake_txid(1).substr(2);
    assert_errc(chain::build_unsigned(p), Errc::invalid_argument);

    p = good;
    p.inputs[0].satoshis = 0;
    assert_errc(chain::build_unsigned(p), Errc::invalid_argument);

    p = good;
    p.inputs[0].satoshis = MAX_MONEY;
    p.inputs.push_back(funding(k, 2, 1));
    assert_errc(chain::build_unsigned(p), Errc::invalid_argument);

    p = good;
    p.data_pushes = {record_of(chain::kMaxDataBytes + 1)};
    assert_errc(chain::build_unsigned(p), Errc::invalid_argument);
    print_message("build refuses: no inputs, non-P2PKH change or input script, key id not matching the "
                  "script (or a private key), bad txid, 0 sats, sum > MAX_MONEY, data > kMaxDataBytes\n");
}

// Turns a low-S DER signature into its high-S twin (s → n − s).
Bytes high_s_twin(const Bytes &der)
{
    static const uint8_t n[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                  0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    const size_t rlen = der[3];
    const size_t spos = 4 + rlen + 2;
    const size_t slen = der[4 + rlen + 1];
    uint8_t s[32] = {};
    std::copy(der.begin() + spos, der.begin() + spos + slen, s + (32 - slen));
    uint8_t t[32];
    int borrow = 0;
    for (int i = 31; i >= 0; --i) {
        int v = int(n[i]) - int(s[i]) - borrow;
        borrow = v < 0;
        t[i] = static_cast<uint8_t>(v + (borrow ? 256 : 0));
    }
    assert_true(t[0] & 0x80);  // n − low s is high: needs a 0x00 pad
    Bytes out(der.begin(), der.begin() + 4 + rlen);
    out.push_back(0x02);
    out.push_back(33);
    out.push_back(0x00);
    out.insert(out.end(), t, t + 32);
    out[1] = static_cast<uint8_t>(out.size() - 2);
    return out;
}

void attach_refusals(void **)
{
    Key a = make_key(1), b = make_key(2), stranger = make_key(3), change = make_key(99);
    BuildParams p;
    p.data_pushes = {record_of(33)};
    p.inputs = {funding(a, 1, 3000), funding(b, 2, 3000)};
    p.change_script = change.script;
    auto built = chain::build_unsigned(p);
    assert_true(built.ok());
    const UnsignedTx pristine = *built;
    const auto good = sign_all(*built, {&a, &b});

    auto untouched = [&](const UnsignedTx &u) {
        for (const TxIn &in : u.tx.inputs) assert_true(in.script_sig.empty());
        assert_true(serialize(u.tx) == serialize(pristine.tx));
    };

    // Wrong count.
    UnsignedTx u = pristine;
    assert_errc(chain::attach_signatures(u, p.inputs, std::span(good).first(1)), Errc::invalid_argument);
    auto three = good;
    three.push_back(good[0]);
    assert_errc(chain::attach_signatures(u, p.inputs, three), Errc::invalid_argument);
    assert_errc(chain::attach_signatures(u, std::span(p.inputs).first(1), good), Errc::invalid_argument);
    untouched(u);

    // Inputs that are not the ones the tx was built from.
    auto swapped = p.inputs;
    std::swap(swapped[0], swapped[1]);
    assert_errc(chain::attach_signatures(u, swapped, good), Errc::invalid_argument);
    auto other_amount = p.inputs;
    other_amount[1].satoshis += 1;  // the digest commits to the amount
    assert_errc(chain::attach_signatures(u, other_amount, good), Errc::invalid_argument);
    untouched(u);

    // Pubkey mismatch: the second answer carries another key.
    auto mismatch = good;
    mismatch[1].pubkey = stranger.pub;
    assert_errc(chain::attach_signatures(u, p.inputs, mismatch), Errc::verify_failed);
    // A valid signature by the wrong key, reported under the right pubkey.
    auto forged = good;
    auto by_stranger = ecdsa_sign_der(stranger.sk, pristine.sighashes[1]);
    assert_true(by_stranger.ok());
    forged[1].der = *by_stranger;
    assert_errc(chain::attach_signatures(u, p.inputs, forged), Errc::verify_failed);
    // Right key, digest of the other input.
    auto wrong_digest = good;
    auto other = ecdsa_sign_der(b.sk, pristine.sighashes[0]);
    assert_true(other.ok());
    wrong_digest[1].der = *other;
    assert_errc(chain::attach_signatures(u, p.inputs, wrong_digest), Errc::verify_failed);
    // High-S twin of a valid signature: valid ECDSA, not policy.
    auto high = good;
    high[0].der = high_s_twin(good[0].der);
    assert_true(parse_signature_allow_high_s(high[0].der).ok());
    assert_errc(chain::attach_signatures(u, p.inputs, high), Errc::verify_failed);
    // Not strict DER.
    auto loose = good;
    loose[0].der.push_back(0x00);
    assert_errc(chain::attach_signatures(u, p.inputs, loose), Errc::verify_failed);
    auto empty = good;
    empty[0].der.clear();
    assert_errc(chain::attach_signatures(u, p.inputs, empty), Errc::verify_failed);
    untouched(u);

    // Key ids compare case-insensitively.
    auto upper_inputs = p.inputs;
    for (auto &in : upper_inputs)
        std::transform(in.key_id.begin(), in.key_id.end(), in.key_id.begin(), [](char c) { return char(std::toupper(c)); });
    auto raw = chain::attach_signatures(u, upper_inputs, good);
    assert_true(raw.ok());
    check_signed(*raw, p, u);
    print_message("attach refuses: wrong counts, swapped inputs or amounts (invalid_argument); foreign "
                  "pubkey, foreign or misplaced signature, high-S, loose DER (verify_failed); the tx stays "
                  "unsigned on every refusal; upper-case key ids accepted\n");
}

}  // namespace

int main()
{
    if (!init_seed("test_txbuilder")) return 1;
    const CMUnitTest tests[] = {
        cmocka_unit_test(fee_arithmetic),   cmocka_unit_test(build_one_input),
        cmocka_unit_test(build_three_inputs), cmocka_unit_test(record_sizes),
        cmocka_unit_test(dust_change_dropped), cmocka_unit_test(build_refusals),
        cmocka_unit_test(attach_refusals),
    };
    return cmocka_run_group_tests_name("txbuilder", tests, nullptr, nullptr);
}

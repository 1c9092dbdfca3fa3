// SPDX-License-Identifier: MIT
// Transaction builder, the shapes of the maintenance and anchor jobs: a sweep
// (inputs → one change output, no data output), a split (N fixed outputs to
// the change script + change) and a batch anchor (OP_FALSE OP_RETURN
// "PatchProofBatch" <32-byte root> + change). Size estimates are checked
// against the real signed serialization, fees against the rate written out
// here, and out_of_range when the inputs cannot pay. Keys come from a printed
// seed (PP_TEST_SEED to replay one).
#include <string>
#include <vector>

#include "txbuilder_support.h"

using namespace pp;
using namespace pp::crypto;
using namespace pp::test;
using pp::chain::BuildParams;
using pp::chain::TxShape;
using pp::chain::UnsignedTx;

namespace {

constexpr size_t kInputBytes = 32 + 4 + 1 + 107 + 4;
constexpr size_t kP2pkhOutputBytes = 8 + 1 + 25;
constexpr size_t kFrameBytes = 4 + 1 + 1 + 4;  // version, small counts, locktime

// Signs the built transaction and checks what every shape shares: inputs in
// order, the fee the rate asks for on the real size (the estimate's 107-byte
// scriptSigs overshoot by at most a few bytes per input), sums balanced.
Bytes sign_and_check(const BuildParams &p, UnsignedTx &utx, const Key &k)
{
    std::vector<const Key *> keys(p.inputs.size(), &k);
    auto raw = chain::attach_signatures(utx, p.inputs, sign_all(utx, keys));
    assert_true(raw.ok());
    auto tx = parse_tx(*raw);
    assert_true(tx.ok());
    assert_int_equal(tx->inputs.size(), p.inputs.size());
    uint64_t in = 0, out = 0;
    for (size_t i = 0; i < p.inputs.size(); ++i) {
        auto prev = txid_from_hex(p.inputs[i].txid);
        assert_true(prev.ok());
        assert_true(tx->inputs[i].prevout.txid == *prev);
        in += p.inputs[i].satoshis;
    }
    for (const TxOut &o : tx->outputs) out += o.satoshis;
    assert_int_equal(in - out, utx.fee);
    const size_t estimate = raw->size() + 4 * p.inputs.size();
    assert_true(utx.fee >= ceil_fee(raw->size(), p.fee_per_kb));
    if (utx.change_vout) assert_true(utx.fee <= ceil_fee(estimate, p.fee_per_kb));
    return *raw;
}

BuildParams sweep_params(const Key &k, const Key &change, std::vector<uint64_t> amounts)
{
    BuildParams p;
    p.data_output = false;
    p.change_script = change.script;
    p.fee_per_kb = 500;
    for (uint32_t i = 0; i < amounts.size(); ++i) p.inputs.push_back(funding(k, i + 1, amounts[i]));
    return p;
}

void shape_sizes(void **)
{
    // Sweep: n inputs, only a change output.
    assert_int_equal(chain::estimate_tx_size(TxShape{3, std::nullopt, 0, true}),
                     kFrameBytes + 3 * kInputBytes + kP2pkhOutputBytes);
    // Split: 1 input, 5 fixed outputs and change.
    assert_int_equal(chain::estimate_tx_size(TxShape{1, std::nullopt, 5, true}),
                     kFrameBytes + kInputBytes + 6 * kP2pkhOutputBytes);
    // 253 outputs need a 3-byte output count.
    assert_int_equal(chain::estimate_tx_size(TxShape{1, std::nullopt, 252, true}),
                     kFrameBytes + 2 + kInputBytes + 253 * kP2pkhOutputBytes);
    // Anchor: 00 6a 0f <15> 20 <32> = 51 bytes of script.
    const std::vector<Bytes> pushes{Bytes(15, 'x'), Bytes(32, 0)};
    assert_int_equal(chain::data_script_bytes(pushes), 51);
    assert_int_equal(chain::estimate_tx_size(TxShape{1, 51, 0, true}),
                     kFrameBytes + kInputBytes + 8 + 1 + 51 + kP2pkhOutputBytes);
    // The record forms are the same shapes.
    assert_int_equal(chain::estimate_tx_size(1, 13, true), chain::estimate_tx_size(TxShape{1, 13, 0, true}));
    assert_int_equal(chain::estimate_fee(TxShape{3, std::nullopt, 0, true}, 1000),
                     kFrameBytes + 3 * kInputBytes + kP2pkhOutputBytes);
    assert_int_equal(chain::estimate_fee(TxShape{1, std::nullopt, 0, true}, 500), 96);  // 192 · 0.5
    assert_int_equal(chain::estimate_fee(TxShape{1, std::nullopt, 0, true}, 0), 0);
    // Split funding: the fee with change + the fixed outputs + a 1-sat change.
    assert_int_equal(chain::required_funding(TxShape{1, std::nullopt, 4, false}, 4000, 1000),
                     kFrameBytes + kInputBytes + 5 * kP2pkhOutputBytes + 4000 + chain::kDustLimit);
    print_message("shapes: sweep / split / anchor sizes with 107-byte scriptSigs, output-count varint, "
                  "51-byte anchor script, required_funding = fee + fixed + dust\n");
}

void sweep_builds_one_change_output(void **)
{
    Key k = make_key(1), change = make_key(99);
    BuildParams p = sweep_params(k, change, {700, 800, 900, 1000});
    auto utx = chain::build_unsigned(p);
    assert_true(utx.ok());
    assert_int_equal(utx->tx.outputs.size(), 1);
    assert_true(utx->change_vout.has_value());
    assert_int_equal(*utx->change_vout, 0);
    const uint64_t fee = chain::estimate_fee(TxShape{4, std::nullopt, 0, true}, 500);
    assert_int_equal(utx->fee, fee);
    assert_int_equal(utx->change_satoshis, 3400 - fee);
    Bytes raw = sign_and_check(p, *utx, k);
    auto tx = parse_tx(raw);
    assert_true(tx->outputs[0].script == change.script);
    assert_int_equal(tx->outputs[0].satoshis, 3400 - fee);
    // The estimate is the real size up to the DER length of each signature.
    const size_t est = chain::estimate_tx_size(TxShape{4, std::nullopt, 0, true});
    assert_true(raw.size() <= est && est <= raw.size() + 4 * 4);
    print_message("sweep: 4 inputs → one %llu-sat change output, %zu bytes signed (estimate %zu)\n",
                  (unsigned long long)(3400 - fee), raw.size(), est);
}

void sweep_that_cannot_pay_is_refused(void **)
{
    Key k = make_key(1), change = make_key(99);
    const uint64_t fee1 = chain::estimate_fee(TxShape{1, std::nullopt, 0, true}, 500);
    // Exactly the fee: the change would be 0 and there is no other output.
    BuildParams p = sweep_params(k, change, {fee1});
    assert_errc(chain::build_unsigned(p), Errc::out_of_range);
    p = sweep_params(k, change, {fee1 - 1});
    assert_errc(chain::build_unsigned(p), Errc::out_of_range);
    // fee + dust: one 1-sat output.
    p = sweep_params(k, change, {fee1 + chain::kDustLimit});
    auto utx = chain::build_unsigned(p);
    assert_true(utx.ok());
    assert_int_equal(utx->change_satoshis, chain::kDustLimit);
    sign_and_check(p, *utx, k);
    // Two dust inputs that together cannot pay the fee for two.
    const uint64_t fee2 = chain::estimate_fee(TxShape{2, std::nullopt, 0, true}, 500);
    p = sweep_params(k, change, {fee2 / 2, fee2 - fee2 / 2});
    assert_errc(chain::build_unsigned(p), Errc::out_of_range);
    // No data output means no data pushes.
    p = sweep_params(k, change, {10'000});
    p.data_pushes = {Bytes{1}};
    assert_errc(chain::build_unsigned(p), Errc::invalid_argument);
    print_message("sweep refuses: sum == fee, sum < fee, two inputs below their fee (out_of_range); "
                  "fee + 1 sat → a 1-sat output\n");
}

void split_builds_fixed_outputs_and_change(void **)
{
    Key k = make_key(2), change = make_key(99);
    BuildParams p = sweep_params(k, change, {1'000'000});
    p.fixed_outputs.assign(5, 50'000);
    auto utx = chain::build_unsigned(p);
    assert_true(utx.ok());
    assert_int_equal(utx->tx.outputs.size(), 6);
    assert_int_equal(*utx->change_vout, 5);
    const uint64_t fee = chain::estimate_fee(TxShape{1, std::nullopt, 5, true}, 500);
    assert_int_equal(utx->fee, fee);
    assert_int_equal(utx->change_satoshis, 1'000'000 - 250'000 - fee);
    Bytes raw = sign_and_check(p, *utx, k);
    auto tx = parse_tx(raw);
    for (size_t i = 0; i < 5; ++i) {
        assert_int_equal(tx->outputs[i].satoshis, 50'000);
        assert_true(tx->outputs[i].script == change.script);
    }
    assert_true(tx->outputs[5].script == change.script);
    const size_t est = chain::estimate_tx_size(TxShape{1, std::nullopt, 5, true});
    assert_true(raw.size() <= est && est <= raw.size() + 4);
    print_message("split: 1 input → 5 × 50000 + %llu change, %zu bytes signed (estimate %zu)\n",
                  (unsigned long long)utx->change_satoshis, raw.size(), est);
}

void split_change_dust_and_shortfall(void **)
{
    Key k = make_key(2), change = make_key(99);
    const uint64_t with = chain::estimate_fee(TxShape{1, std::nullopt, 3, true}, 500);
    const uint64_t without = chain::estimate_fee(TxShape{1, std::nullopt, 3, false}, 500);
    assert_true(without < with);
    // Exactly 3 × 1000 + the fee with change: change would be 0 → dropped.
    BuildParams p = sweep_params(k, change, {3000 + with});
    p.fixed_outputs.assign(3, 1000);
    auto utx = chain::build_unsigned(p);
    assert_true(utx.ok());
    assert_false(utx->change_vout.has_value());
    assert_int_equal(utx->tx.outputs.size(), 3);
    assert_int_equal(utx->fee, with);
    sign_and_check(p, *utx, k);
    // The fee without change is enough too; one satoshi less is not.
    p.inputs = {funding(k, 1, 3000 + without)};
    utx = chain::build_unsigned(p);
    assert_true(utx.ok());
    assert_int_equal(utx->fee, without);
    p.inputs = {funding(k, 1, 3000 + without - 1)};
    assert_errc(chain::build_unsigned(p), Errc::out_of_range);
    // Not even the fixed outputs.
    p.inputs = {funding(k, 1, 2999)};
    assert_errc(chain::build_unsigned(p), Errc::out_of_range);
    // required_funding is the first amount that yields change.
    p.inputs = {funding(k, 1, chain::required_funding(TxShape{1, std::nullopt, 3, true}, 3000, 500))};
    utx = chain::build_unsigned(p);
    assert_true(utx.ok());
    assert_int_equal(utx->change_satoshis, chain::kDustLimit);
    // Bad fixed outputs.
    p.fixed_outputs = {1000, 0};
    assert_errc(chain::build_unsigned(p), Errc::invalid_argument);
    p.fixed_outputs = {MAX_MONEY, 1};
    assert_errc(chain::build_unsigned(p), Errc::invalid_argument);
    print_message("split: change of 0 dropped, fee-without exact ok, one sat short / below the fixed sum → "
                  "out_of_range, 0-sat or > MAX_MONEY outputs refused\n");
}

void anchor_builds_tag_and_root(void **)
{
    Key k = make_key(3), change = make_key(99);
    const std::string tag = "PatchProofBatch";
    const Hash256 digest = sha256(as_bytes(std::string("root|") + g_seed));
    const Bytes root(digest.begin(), digest.end());
    BuildParams p;
    p.data_pushes = {Bytes(tag.begin(), tag.end()), root};
    p.inputs = {funding(k, 1, 5000)};
    p.change_script = change.script;
    p.fee_per_kb = 500;
    auto utx = chain::build_unsigned(p);
    assert_true(utx.ok());
    assert_int_equal(utx->tx.outputs.size(), 2);
    assert_int_equal(utx->fee, chain::estimate_fee(TxShape{1, 51, 0, true}, 500));
    Bytes raw = sign_and_check(p, *utx, k);
    auto tx = parse_tx(raw);
    Bytes want{0x00, 0x6a, 0x0f};
    want.insert(want.end(), tag.begin(), tag.end());
    want.push_back(0x20);
    want.insert(want.end(), root.begin(), root.end());
    assert_int_equal(tx->outputs[0].satoshis, 0);
    assert_true(tx->outputs[0].script == want);
    assert_true(tx->outputs[1].script == change.script);
    const size_t est = chain::estimate_tx_size(TxShape{1, 51, 0, true});
    assert_true(raw.size() <= est && est <= raw.size() + 4);
    print_message("anchor: 00 6a 0f \"PatchProofBatch\" 20 <root> + change, %zu bytes signed\n", raw.size());
}

}  // namespace

int main()
{
    if (!init_seed("test_txbuilder_shapes")) return 1;
    const CMUnitTest tests[] = {
        cmocka_unit_test(shape_sizes),
        cmocka_unit_test(sweep_builds_one_change_output),
        cmocka_unit_test(sweep_that_cannot_pay_is_refused),
        cmocka_unit_test(split_builds_fixed_outputs_and_change),
        cmocka_unit_test(split_change_dust_and_shortfall),
        cmocka_unit_test(anchor_builds_tag_and_root),
    };
    return cmocka_run_group_tests_name("txbuilder_shapes", tests, nullptr, nullptr);
}

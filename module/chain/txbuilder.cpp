// SPDX-License-Identifier: MIT
#include "chain/txbuilder.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>

#include "crypto/base58.h"
#include "crypto/encoding.h"
#include "crypto/secp256k1.h"

namespace pp::chain {
namespace {

constexpr uint32_t kHashType = crypto::SIGHASH_ALL | crypto::SIGHASH_FORKID;  // 0x41
constexpr size_t kP2pkhScriptBytes = 25;

size_t varint_size(uint64_t n) noexcept
{
    if (n < 0xfd)
        return 1;
    if (n <= 0xffff)
        return 3;
    if (n <= 0xffffffffULL)
        return 5;
    return 9;
}

size_t push_opcode_size(size_t n) noexcept
{
    if (n < 76)
        return 1;
    if (n <= 0xff)
        return 2;
    if (n <= 0xffff)
        return 3;
    return 5;
}

uint64_t fee_for_size(size_t size, uint64_t fee_per_kb) noexcept
{
    if (fee_per_kb == 0)
        return 0;
    // Sizes are bounded by kMaxDataBytes and the rate by the config table,
    // so this never saturates in practice; it must not wrap either way.
    if (size > (UINT64_MAX - 999) / fee_per_kb)
        return UINT64_MAX;
    const uint64_t fee = (static_cast<uint64_t>(size) * fee_per_kb + 999) / 1000;
    return std::max<uint64_t>(1, fee);
}

bool ascii_iequal(std::string_view a, std::string_view b) noexcept
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// The input must be spendable by its key: a compressed pubkey whose hash160
// is the one in the P2PKH script. Anything else would yield a transaction
// the node rejects after the KMS has already signed it.
bool input_well_formed(const FundingInput &in) noexcept
{
    auto h = crypto::p2pkh_script_hash(in.script);
    if (!h)
        return false;
    crypto::PubKey33 pk{};
    if (!crypto::hex_decode_into(pk, in.key_id) || !crypto::parse_pubkey(pk))
        return false;
    return crypto::pubkey_hash(pk) == *h;
}

}  // namespace

size_t estimate_tx_size(const TxShape &shape)
{
    const size_t outputs = (shape.data_script_bytes ? 1 : 0) + shape.fixed_outputs + (shape.with_change ? 1 : 0);
    size_t size = 4 + varint_size(shape.inputs) + varint_size(outputs) + 4;  // version, counts, locktime
    // prevout (32 + 4), scriptSig length + scriptSig, sequence
    size += shape.inputs * (36 + varint_size(kSignedScriptSigBytes) + kSignedScriptSigBytes + 4);
    if (shape.data_script_bytes)
        size += 8 + varint_size(*shape.data_script_bytes) + *shape.data_script_bytes;
    size += (outputs - (shape.data_script_bytes ? 1 : 0)) * (8 + varint_size(kP2pkhScriptBytes) + kP2pkhScriptBytes);
    return size;
}

uint64_t estimate_fee(const TxShape &shape, uint64_t fee_per_kb)
{
    return fee_for_size(estimate_tx_size(shape), fee_per_kb);
}

uint64_t required_funding(const TxShape &shape, uint64_t fixed_total, uint64_t fee_per_kb)
{
    TxShape s = shape;
    s.with_change = true;
    return estimate_fee(s, fee_per_kb) + fixed_total + kDustLimit;
}

size_t data_script_bytes(std::span<const Bytes> pushes)
{
    size_t n = 2;  // OP_FALSE OP_RETURN
    for (const Bytes &p : pushes)
        n += push_opcode_size(p.size()) + p.size();
    return n;
}

size_t estimate_tx_size(size_t inputs, size_t op_return_script_bytes, bool with_change)
{
    return estimate_tx_size(TxShape{inputs, op_return_script_bytes, 0, with_change});
}

uint64_t estimate_fee(size_t inputs, size_t data_bytes, bool with_change, uint64_t fee_per_kb)
{
    const size_t script = 2 + push_opcode_size(data_bytes) + data_bytes;
    return estimate_fee(TxShape{inputs, script, 0, with_change}, fee_per_kb);
}

uint64_t required_funding(size_t data_bytes, size_t inputs, uint64_t fee_per_kb)
{
    return estimate_fee(inputs, data_bytes, true, fee_per_kb) + kDustLimit;
}

namespace {

// The inputs as unsigned TxIns; their total in *total.
Result<void> add_inputs(crypto::Tx &tx, const std::vector<FundingInput> &inputs, uint64_t *total)
{
    *total = 0;
    for (const FundingInput &in : inputs) {
        auto txid = crypto::txid_from_hex(in.txid);
        if (!txid || !input_well_formed(in) || in.satoshis == 0 || in.satoshis > crypto::MAX_MONEY)
            return Errc::invalid_argument;
        *total += in.satoshis;  // each <= MAX_MONEY: no overflow for any realistic count
        if (*total > crypto::MAX_MONEY)
            return Errc::invalid_argument;
        crypto::TxIn txin;
        txin.prevout.txid = *txid;
        txin.prevout.vout = in.vout;
        txin.sequence = 0xffffffff;
        tx.inputs.push_back(std::move(txin));
    }
    return {};
}

// Sum of the fixed outputs; invalid_argument for a 0-sat one or a sum above MAX_MONEY.
Result<uint64_t> fixed_total(const std::vector<uint64_t> &fixed)
{
    uint64_t sum = 0;
    for (uint64_t v : fixed) {
        if (v < kDustLimit || v > crypto::MAX_MONEY - sum)
            return Errc::invalid_argument;
        sum += v;
    }
    return sum;
}

}  // namespace

Result<UnsignedTx> build_unsigned(const BuildParams &params)
{
    if (params.inputs.empty() || !crypto::p2pkh_script_hash(params.change_script))
        return Errc::invalid_argument;
    size_t data_bytes = 0;
    for (const Bytes &p : params.data_pushes)
        data_bytes += p.size();
    if (data_bytes > kMaxDataBytes || (!params.data_output && !params.data_pushes.empty()))
        return Errc::invalid_argument;
    auto fixed = fixed_total(params.fixed_outputs);
    if (!fixed)
        return fixed.error();

    UnsignedTx out;
    out.tx.version = 1;
    out.tx.locktime = 0;
    uint64_t total = 0;
    if (auto a = add_inputs(out.tx, params.inputs, &total); !a)
        return a.error();

    TxShape shape{params.inputs.size(), std::nullopt, params.fixed_outputs.size(), true};
    if (params.data_output) {
        Bytes data_script = crypto::op_return_script(params.data_pushes);
        shape.data_script_bytes = data_script.size();
        out.tx.outputs.push_back(crypto::TxOut{0, std::move(data_script)});
    }
    for (uint64_t v : params.fixed_outputs)
        out.tx.outputs.push_back(crypto::TxOut{v, params.change_script});
    const uint64_t fee_with_change = estimate_fee(shape, params.fee_per_kb);
    shape.with_change = false;
    const uint64_t fee_without = estimate_fee(shape, params.fee_per_kb);

    // A transaction needs an output: with no other one, change is a must.
    const bool other_outputs = !out.tx.outputs.empty();
    if (total < *fixed)
        return Errc::out_of_range;
    const uint64_t left = total - *fixed;
    if (left >= fee_with_change && left - fee_with_change >= kDustLimit) {
        out.change_satoshis = left - fee_with_change;
        out.change_vout = static_cast<uint32_t>(out.tx.outputs.size());
        out.tx.outputs.push_back(crypto::TxOut{out.change_satoshis, params.change_script});
        out.fee = fee_with_change;
    } else if (other_outputs && left >= fee_without) {
        // Change would be dust: whatever is left over goes to the miner.
        out.fee = left;
    } else {
        return Errc::out_of_range;
    }

    const size_t n = params.inputs.size();
    out.sighashes.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        const FundingInput &in = params.inputs[i];
        auto h = crypto::sighash_forkid(out.tx, i, in.script, in.satoshis, kHashType);
        if (!h)
            return Errc::internal;
        out.sighashes.push_back(*h);
    }
    return out;
}

Result<Bytes> attach_signatures(UnsignedTx &utx, std::span<const FundingInput> inputs,
                                std::span<const kms::SignResult> signatures)
{
    const size_t n = utx.tx.inputs.size();
    if (n == 0 || inputs.size() != n || signatures.size() != n || utx.sighashes.size() != n)
        return Errc::invalid_argument;

    std::vector<Bytes> script_sigs;
    script_sigs.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        const FundingInput &in = inputs[i];
        const kms::SignResult &sig = signatures[i];
        // The inputs must be the ones the transaction was built from.
        auto txid = crypto::txid_from_hex(in.txid);
        if (!txid || *txid != utx.tx.inputs[i].prevout.txid || in.vout != utx.tx.inputs[i].prevout.vout)
            return Errc::invalid_argument;
        // Recomputed rather than trusted: utx is the caller's to mutate.
        auto digest = crypto::sighash_forkid(utx.tx, i, in.script, in.satoshis, kHashType);
        if (!digest || *digest != utx.sighashes[i])
            return Errc::invalid_argument;

        if (!ascii_iequal(crypto::hex_encode(sig.pubkey), in.key_id))
            return Errc::verify_failed;
        auto pk = crypto::parse_pubkey(sig.pubkey);
        if (!pk || sig.der.size() > crypto::kMaxDerSigBytes)
            return Errc::verify_failed;
        // Strict DER, low-S and valid over this input's digest, or nothing
        // goes on chain.
        if (!crypto::ecdsa_verify_der(sig.der, *digest, *pk))
            return Errc::verify_failed;
        Bytes with_type = sig.der;
        with_type.push_back(static_cast<uint8_t>(kHashType));
        script_sigs.push_back(crypto::p2pkh_script_sig(with_type, sig.pubkey));
    }
    // Only now, with every input checked, is the transaction touched.
    for (size_t i = 0; i < n; ++i)
        utx.tx.inputs[i].script_sig = std::move(script_sigs[i]);
    return crypto::serialize(utx.tx);
}

}  // namespace pp::chain

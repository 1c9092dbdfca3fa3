// SPDX-License-Identifier: MIT
#include "chain/txbuilder.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

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

size_t estimate_tx_size(size_t inputs, size_t op_return_script_bytes, bool with_change)
{
    const size_t outputs = with_change ? 2 : 1;
    size_t size = 4 + varint_size(inputs) + varint_size(outputs) + 4;  // version, counts, locktime
    // prevout (32 + 4), scriptSig length + scriptSig, sequence
    size += inputs * (36 + varint_size(kSignedScriptSigBytes) + kSignedScriptSigBytes + 4);
    size += 8 + varint_size(op_return_script_bytes) + op_return_script_bytes;
    if (with_change)
        size += 8 + varint_size(kP2pkhScriptBytes) + kP2pkhScriptBytes;
    return size;
}

uint64_t estimate_fee(size_t inputs, size_t data_bytes, bool with_change, uint64_t fee_per_kb)
{
    const size_t script = 2 + push_opcode_size(data_bytes) + data_bytes;
    return fee_for_size(estimate_tx_size(inputs, script, with_change), fee_per_kb);
}

uint64_t required_funding(size_t data_bytes, size_t inputs, uint64_t fee_per_kb)
{
    return estimate_fee(inputs, data_bytes, true, fee_per_kb) + kDustLimit;
}

Result<UnsignedTx> build_unsigned(const BuildParams &params)
{
    if (params.inputs.empty() || !crypto::p2pkh_script_hash(params.change_script))
        return Errc::invalid_argument;
    size_t data_bytes = 0;
    for (const Bytes &p : params.data_pushes)
        data_bytes += p.size();
    if (data_bytes > kMaxDataBytes)
        return Errc::invalid_argument;

    UnsignedTx out;
    out.tx.version = 1;
    out.tx.locktime = 0;
    uint64_t total = 0;
    for (const FundingInput &in : params.inputs) {
        auto txid = crypto::txid_from_hex(in.txid);
        if (!txid || !input_well_formed(in) || in.satoshis == 0 || in.satoshis > crypto::MAX_MONEY)
            return Errc::invalid_argument;
        total += in.satoshis;  // each <= MAX_MONEY: no overflow for any realistic count
        if (total > crypto::MAX_MONEY)
            return Errc::invalid_argument;
        crypto::TxIn txin;
        txin.prevout.txid = *txid;
        txin.prevout.vout = in.vout;
        txin.sequence = 0xffffffff;
        out.tx.inputs.push_back(std::move(txin));
    }

    Bytes data_script = crypto::op_return_script(params.data_pushes);
    const size_t n = params.inputs.size();
    const uint64_t fee_with_change = fee_for_size(estimate_tx_size(n, data_script.size(), true), params.fee_per_kb);
    const uint64_t fee_without = fee_for_size(estimate_tx_size(n, data_script.size(), false), params.fee_per_kb);

    out.tx.outputs.push_back(crypto::TxOut{0, std::move(data_script)});
    if (total >= fee_with_change && total - fee_with_change >= kDustLimit) {
        out.change_satoshis = total - fee_with_change;
        out.change_vout = static_cast<uint32_t>(out.tx.outputs.size());
        out.tx.outputs.push_back(crypto::TxOut{out.change_satoshis, params.change_script});
        out.fee = fee_with_change;
    } else if (total >= fee_without) {
        // Change would be dust: whatever is left over goes to the miner.
        out.fee = total;
    } else {
        return Errc::out_of_range;
    }

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

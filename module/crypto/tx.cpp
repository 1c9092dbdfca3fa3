// SPDX-License-Identifier: MIT
#include "crypto/tx.h"

#include <algorithm>
#include <cstdlib>

#include "crypto/encoding.h"

namespace pp::crypto {
namespace {

constexpr uint8_t OP_0 = 0x00;
constexpr uint8_t OP_PUSHDATA1 = 0x4c;
constexpr uint8_t OP_PUSHDATA2 = 0x4d;
constexpr uint8_t OP_PUSHDATA4 = 0x4e;
constexpr uint8_t OP_RETURN = 0x6a;
constexpr uint8_t OP_DUP = 0x76;
constexpr uint8_t OP_EQUALVERIFY = 0x88;
constexpr uint8_t OP_HASH160 = 0xa9;
constexpr uint8_t OP_CODESEPARATOR = 0xab;
constexpr uint8_t OP_CHECKSIG = 0xac;

// Smallest wire sizes; they bound how many items the remaining bytes can hold.
constexpr size_t kMinTxInSize = 32 + 4 + 1 + 4;  // outpoint, empty script, sequence
constexpr size_t kMinTxOutSize = 8 + 1;          // amount, empty script

void put_u16(Bytes &out, uint16_t v)
{
    out.push_back(static_cast<uint8_t>(v));
    out.push_back(static_cast<uint8_t>(v >> 8));
}

void put_u32(Bytes &out, uint32_t v)
{
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put_u64(Bytes &out, uint64_t v)
{
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put_bytes(Bytes &out, std::span<const uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); }

void put_var_bytes(Bytes &out, std::span<const uint8_t> b)
{
    write_varint(out, b.size());
    put_bytes(out, b);
}

void put_outpoint(Bytes &out, const OutPoint &op)
{
    put_bytes(out, op.txid);
    put_u32(out, op.vout);
}

void put_txout(Bytes &out, const TxOut &o)
{
    put_u64(out, o.satoshis);
    put_var_bytes(out, o.script);
}

uint64_t get_le(std::span<const uint8_t> in, size_t pos, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(in[pos + i]) << (8 * i);
    return v;
}

// Cursor over untrusted bytes. Every read checks the remaining length first;
// a failed read leaves the cursor where it was.
class Reader {
public:
    explicit Reader(std::span<const uint8_t> in) : in_(in) {}

    size_t remaining() const { return in_.size() - pos_; }

    bool u32(uint32_t &v)
    {
        if (remaining() < 4) return false;
        v = static_cast<uint32_t>(get_le(in_, pos_, 4));
        pos_ += 4;
        return true;
    }

    bool u64(uint64_t &v)
    {
        if (remaining() < 8) return false;
        v = get_le(in_, pos_, 8);
        pos_ += 8;
        return true;
    }

    bool fixed(std::span<uint8_t> out)
    {
        if (remaining() < out.size()) return false;
        std::copy_n(in_.begin() + static_cast<std::ptrdiff_t>(pos_), out.size(), out.begin());
        pos_ += out.size();
        return true;
    }

    Result<uint64_t> varint() { return read_varint(in_, pos_); }

    // A varint length followed by that many bytes; the length is checked
    // against what is left before anything is allocated.
    bool var_bytes(Bytes &out)
    {
        size_t start = pos_;
        auto len = varint();
        if (!len || *len > remaining()) {
            pos_ = start;
            return false;
        }
        auto first = in_.begin() + static_cast<std::ptrdiff_t>(pos_);
        out.assign(first, first + static_cast<std::ptrdiff_t>(*len));
        pos_ += static_cast<size_t>(*len);
        return true;
    }

private:
    std::span<const uint8_t> in_;
    size_t pos_ = 0;
};

// Item count that must fit in the remaining bytes at min_size each; rejects
// absurd counts before any allocation.
Result<size_t> read_count(Reader &r, size_t min_size)
{
    auto n = r.varint();
    if (!n) return n.error();
    if (*n > r.remaining() / min_size) return Errc::parse_error;
    return static_cast<size_t>(*n);
}

// One step of the node's script walker (GetScriptOp): reads an opcode and
// skips its push data. Returns false at the end or on a truncated push. On a
// truncated push pos stays where the node leaves its iterator, after the
// opcode and whatever length bytes it could read, because the legacy
// script-code serialization depends on that position.
bool next_op(std::span<const uint8_t> s, size_t &pos, uint8_t &op)
{
    if (pos >= s.size()) return false;
    op = s[pos++];
    if (op > OP_PUSHDATA4) return true;
    size_t n = 0;
    if (op < OP_PUSHDATA1) {
        n = op;
    } else {
        size_t width = op == OP_PUSHDATA1 ? 1 : op == OP_PUSHDATA2 ? 2 : 4;
        if (s.size() - pos < width) return false;
        n = static_cast<size_t>(get_le(s, pos, width));
        pos += width;
    }
    if (s.size() - pos < n) return false;
    pos += n;
    return true;
}

// The node's SerializeScriptCode: the script with OP_CODESEPARATOR opcodes
// (not 0xab bytes inside push data) left out. Both passes stop at the first
// truncated push, exactly as in the node: the length prefix is size minus the
// separators seen, and the final segment ends where the walker stopped, so a
// truncated tail is cut off even though the prefix still counts it.
void put_legacy_script_code(Bytes &out, std::span<const uint8_t> s)
{
    size_t pos = 0;
    size_t separators = 0;
    uint8_t op = 0;
    while (next_op(s, pos, op))
        if (op == OP_CODESEPARATOR) ++separators;
    write_varint(out, s.size() - separators);

    size_t begin = 0;
    pos = 0;
    while (next_op(s, pos, op)) {
        if (op == OP_CODESEPARATOR) {
            put_bytes(out, s.subspan(begin, pos - 1 - begin));
            begin = pos;
        }
    }
    if (begin != s.size()) put_bytes(out, s.subspan(begin, pos - begin));
}

Hash256 hash_bytes(const Bytes &b) { return sha256d(b); }

}  // namespace

void write_varint(Bytes &out, uint64_t v)
{
    if (v < 0xfd) {
        out.push_back(static_cast<uint8_t>(v));
    } else if (v <= 0xffff) {
        out.push_back(0xfd);
        put_u16(out, static_cast<uint16_t>(v));
    } else if (v <= 0xffffffff) {
        out.push_back(0xfe);
        put_u32(out, static_cast<uint32_t>(v));
    } else {
        out.push_back(0xff);
        put_u64(out, v);
    }
}

Result<uint64_t> read_varint(std::span<const uint8_t> in, size_t &pos)
{
    if (pos >= in.size()) return Errc::parse_error;
    uint8_t tag = in[pos];
    if (tag < 0xfd) {
        pos += 1;
        return uint64_t{tag};
    }
    size_t width = tag == 0xfd ? 2 : tag == 0xfe ? 4 : 8;
    if (in.size() - pos - 1 < width) return Errc::parse_error;
    uint64_t v = get_le(in, pos + 1, width);
    // Canonical form only: a value that fits a shorter encoding would give
    // the same transaction two serializations (and two txids).
    uint64_t min = tag == 0xfd ? 0xfd : tag == 0xfe ? 0x10000 : 0x100000000ULL;
    if (v < min) return Errc::parse_error;
    pos += 1 + width;
    return v;
}

Bytes serialize(const Tx &tx)
{
    Bytes out;
    size_t size = 4 + 9 + 9 + 4;
    for (const auto &in : tx.inputs) size += kMinTxInSize + 8 + in.script_sig.size();
    for (const auto &o : tx.outputs) size += kMinTxOutSize + 8 + o.script.size();
    out.reserve(size);

    put_u32(out, tx.version);
    write_varint(out, tx.inputs.size());
    for (const auto &in : tx.inputs) {
        put_outpoint(out, in.prevout);
        put_var_bytes(out, in.script_sig);
        put_u32(out, in.sequence);
    }
    write_varint(out, tx.outputs.size());
    for (const auto &o : tx.outputs) put_txout(out, o);
    put_u32(out, tx.locktime);
    return out;
}

Result<Tx> parse_tx(std::span<const uint8_t> raw)
{
    Reader r(raw);
    Tx tx;
    if (!r.u32(tx.version)) return Errc::parse_error;

    auto n_in = read_count(r, kMinTxInSize);
    if (!n_in) return n_in.error();
    tx.inputs.resize(*n_in);
    for (auto &in : tx.inputs) {
        if (!r.fixed(in.prevout.txid) || !r.u32(in.prevout.vout) || !r.var_bytes(in.script_sig) ||
            !r.u32(in.sequence))
            return Errc::parse_error;
    }

    auto n_out = read_count(r, kMinTxOutSize);
    if (!n_out) return n_out.error();
    tx.outputs.resize(*n_out);
    uint64_t total = 0;
    for (auto &o : tx.outputs) {
        if (!r.u64(o.satoshis) || !r.var_bytes(o.script)) return Errc::parse_error;
        // Bounding each value and the running sum keeps callers' fee and
        // change arithmetic free of overflow.
        if (o.satoshis > MAX_MONEY || MAX_MONEY - total < o.satoshis) return Errc::out_of_range;
        total += o.satoshis;
    }

    if (!r.u32(tx.locktime)) return Errc::parse_error;
    if (r.remaining() != 0) return Errc::parse_error;
    return tx;
}

Hash256 txid_internal(const Tx &tx) { return hash_bytes(serialize(tx)); }

std::string txid_hex(const Tx &tx)
{
    Hash256 h = txid_internal(tx);
    std::reverse(h.begin(), h.end());
    return hex_encode(h);
}

Result<Hash256> txid_from_hex(std::string_view display_hex)
{
    Hash256 h{};
    auto r = hex_decode_into(h, display_hex);
    if (!r) return r.error();
    std::reverse(h.begin(), h.end());
    return h;
}

void push_data(Bytes &script, std::span<const uint8_t> data)
{
    const size_t n = data.size();
    if (n < OP_PUSHDATA1) {
        script.push_back(static_cast<uint8_t>(n));  // 0 is OP_0, 1..75 push directly
    } else if (n <= 0xff) {
        script.push_back(OP_PUSHDATA1);
        script.push_back(static_cast<uint8_t>(n));
    } else if (n <= 0xffff) {
        script.push_back(OP_PUSHDATA2);
        put_u16(script, static_cast<uint16_t>(n));
    } else if (n <= 0xffffffff) {
        script.push_back(OP_PUSHDATA4);
        put_u32(script, static_cast<uint32_t>(n));
    } else {
        // Not encodable; a silent truncation would corrupt the script.
        std::abort();
    }
    put_bytes(script, data);
}

Bytes p2pkh_script(const Hash160 &pubkey_hash)
{
    Bytes s{OP_DUP, OP_HASH160, 20};
    put_bytes(s, pubkey_hash);
    s.push_back(OP_EQUALVERIFY);
    s.push_back(OP_CHECKSIG);
    return s;
}

Result<Hash160> p2pkh_script_hash(std::span<const uint8_t> script)
{
    if (script.size() != 25 || script[0] != OP_DUP || script[1] != OP_HASH160 || script[2] != 20 ||
        script[23] != OP_EQUALVERIFY || script[24] != OP_CHECKSIG)
        return Errc::invalid_argument;
    Hash160 h{};
    std::copy_n(script.begin() + 3, h.size(), h.begin());
    return h;
}

Bytes op_return_script(std::span<const Bytes> pushes)
{
    // OP_FALSE first makes the output provably unspendable on BSV.
    Bytes s{OP_0, OP_RETURN};
    for (const auto &p : pushes) push_data(s, p);
    return s;
}

Bytes p2pkh_script_sig(std::span<const uint8_t> der_sig_with_hashtype,
                       std::span<const uint8_t, 33> pubkey)
{
    Bytes s;
    s.reserve(2 + der_sig_with_hashtype.size() + pubkey.size());
    push_data(s, der_sig_with_hashtype);
    push_data(s, pubkey);
    return s;
}

Result<Hash256> sighash_forkid(const Tx &tx, size_t input_index,
                               std::span<const uint8_t> script_code, uint64_t amount,
                               uint32_t hashtype)
{
    if (input_index >= tx.inputs.size()) return Errc::out_of_range;
    const uint32_t base = hashtype & 0x1f;
    const bool anyone = (hashtype & SIGHASH_ANYONECANPAY) != 0;
    const bool single = base == SIGHASH_SINGLE;
    const bool none = base == SIGHASH_NONE;

    Hash256 prevouts{}, sequences{}, outputs{};  // zero unless committed to below
    if (!anyone) {
        Bytes b;
        for (const auto &in : tx.inputs) put_outpoint(b, in.prevout);
        prevouts = hash_bytes(b);
    }
    if (!anyone && !single && !none) {
        Bytes b;
        for (const auto &in : tx.inputs) put_u32(b, in.sequence);
        sequences = hash_bytes(b);
    }
    if (!single && !none) {
        Bytes b;
        for (const auto &o : tx.outputs) put_txout(b, o);
        outputs = hash_bytes(b);
    } else if (single && input_index < tx.outputs.size()) {
        Bytes b;
        put_txout(b, tx.outputs[input_index]);
        outputs = hash_bytes(b);
    }

    const TxIn &in = tx.inputs[input_index];
    Bytes pre;
    pre.reserve(4 + 32 + 32 + 36 + 9 + script_code.size() + 8 + 4 + 32 + 4 + 4);
    put_u32(pre, tx.version);
    put_bytes(pre, prevouts);
    put_bytes(pre, sequences);
    put_outpoint(pre, in.prevout);
    put_var_bytes(pre, script_code);
    put_u64(pre, amount);
    put_u32(pre, in.sequence);
    put_bytes(pre, outputs);
    put_u32(pre, tx.locktime);
    put_u32(pre, hashtype);
    return hash_bytes(pre);
}

Result<Hash256> sighash_legacy(const Tx &tx, size_t input_index,
                               std::span<const uint8_t> script_code, uint32_t hashtype)
{
    if (input_index >= tx.inputs.size()) return Errc::out_of_range;
    const uint32_t base = hashtype & 0x1f;
    const bool anyone = (hashtype & SIGHASH_ANYONECANPAY) != 0;
    const bool single = base == SIGHASH_SINGLE;
    const bool none = base == SIGHASH_NONE;

    // The original client's bug, kept by consensus: it signs the number 1.
    if (single && input_index >= tx.outputs.size()) {
        Hash256 one{};
        one[0] = 1;
        return one;
    }

    Bytes pre;
    put_u32(pre, tx.version);

    auto put_input = [&](size_t i) {
        const TxIn &in = tx.inputs[i];
        put_outpoint(pre, in.prevout);
        if (i == input_index)
            put_legacy_script_code(pre, script_code);
        else
            write_varint(pre, 0);  // other inputs' scripts are blanked
        // NONE and SINGLE let other inputs update their sequence freely.
        put_u32(pre, (i != input_index && (none || single)) ? 0 : in.sequence);
    };
    if (anyone) {
        write_varint(pre, 1);
        put_input(input_index);
    } else {
        write_varint(pre, tx.inputs.size());
        for (size_t i = 0; i < tx.inputs.size(); ++i) put_input(i);
    }

    if (none) {
        write_varint(pre, 0);
    } else if (single) {
        // Outputs before ours become "null" (-1 amount, empty script).
        write_varint(pre, input_index + 1);
        for (size_t i = 0; i < input_index; ++i) {
            put_u64(pre, UINT64_MAX);
            write_varint(pre, 0);
        }
        put_txout(pre, tx.outputs[input_index]);
    } else {
        write_varint(pre, tx.outputs.size());
        for (const auto &o : tx.outputs) put_txout(pre, o);
    }

    put_u32(pre, tx.locktime);
    put_u32(pre, hashtype);
    return hash_bytes(pre);
}

Result<Hash256> signature_hash(const Tx &tx, size_t input_index,
                               std::span<const uint8_t> script_code, uint64_t amount,
                               uint32_t hashtype)
{
    if (hashtype & SIGHASH_FORKID)
        return sighash_forkid(tx, input_index, script_code, amount, hashtype);
    return sighash_legacy(tx, input_index, script_code, hashtype);
}

}  // namespace pp::crypto

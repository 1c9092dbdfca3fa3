// SPDX-License-Identifier: MIT
#include "devchain/chainstate.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <ctime>
#include <set>
#include <tuple>
#include <utility>

#include "crypto/encoding.h"
#include "crypto/secp256k1.h"
#include "store/row.h"

namespace pp::devchain {

namespace {

using crypto::Hash160;
using crypto::Hash256;
using store::Param;
using store::Row;

// Our transactions hold row locks for milliseconds; a longer wait means a
// stuck peer, and must end well inside the client's 5 s read timeout (it is
// Errc::deadlock, and store::with_txn runs the transaction again).
constexpr std::string_view kLockWaitSql = "SET SESSION innodb_lock_wait_timeout = 3";
// Regtest's difficulty bits, only to make the fake header look familiar.
constexpr uint32_t kBlockBits = 0x207fffff;

constexpr uint8_t OP_0 = 0x00, OP_PUSHDATA1 = 0x4c, OP_PUSHDATA2 = 0x4d, OP_PUSHDATA4 = 0x4e,
                  OP_1NEGATE = 0x4f, OP_1 = 0x51, OP_16 = 0x60, OP_RETURN = 0x6a;

int64_t now_sec()
{
    return static_cast<int64_t>(std::time(nullptr));
}

std::string display_hex(Hash256 internal)
{
    std::reverse(internal.begin(), internal.end());
    return crypto::hex_encode(internal);
}

std::string script_error(std::string_view err)
{
    std::string s(reject::script_prefix);
    s += err;
    s += ')';
    return s;
}

SubmitOutcome rejected(std::string txid, std::string_view reason)
{
    return SubmitOutcome{SubmitOutcome::Kind::rejected, std::move(txid), std::string(reason)};
}

// Our transactions hold row locks for milliseconds; the session setting is
// re-applied in every transaction because a reconnect resets it. Best
// effort: a dropped connection shows up again at the next statement.
void short_lock_wait(store::Txn &txn)
{
    (void)txn.db().execute(kLockWaitSql);
}

// scriptSig items: every opcode must push (a node's SIGPUSHONLY rule).
std::string_view read_pushes(std::span<const uint8_t> script, std::vector<Bytes> &items)
{
    size_t pos = 0;
    while (pos < script.size()) {
        const uint8_t op = script[pos++];
        size_t len = 0;
        if (op == OP_0) {
            items.emplace_back();
            continue;
        }
        if (op == OP_1NEGATE || (op >= OP_1 && op <= OP_16)) {
            items.push_back(Bytes{op == OP_1NEGATE ? uint8_t(0x81) : uint8_t(op - OP_1 + 1)});
            continue;
        }
        if (op < OP_PUSHDATA1) {
            len = op;
        } else if (op <= OP_PUSHDATA4) {
            const size_t width = op == OP_PUSHDATA1 ? 1 : op == OP_PUSHDATA2 ? 2 : 4;
            if (script.size() - pos < width) return reject::err_bad_opcode;
            for (size_t k = 0; k < width; ++k) len |= size_t(script[pos + k]) << (8 * k);
            pos += width;
        } else {
            return reject::err_pushonly;
        }
        if (script.size() - pos < len) return reject::err_bad_opcode;
        items.emplace_back(script.begin() + pos, script.begin() + pos + len);
        pos += len;
    }
    return {};
}

}  // namespace

// --- pure checks --------------------------------------------------------------

std::string_view check_p2pkh_input(const crypto::Tx &tx, size_t index, uint64_t amount, const Hash160 &pkh)
{
    if (index >= tx.inputs.size()) return reject::err_eval_false;
    std::vector<Bytes> items;
    if (auto e = read_pushes(tx.inputs[index].script_sig, items); !e.empty()) return e;
    // OP_DUP needs the key and OP_CHECKSIG a signature under it.
    if (items.size() < 2) return reject::err_stack;
    const Bytes &sig = items[items.size() - 2];
    const Bytes &key = items.back();

    if (crypto::hash160(key) != pkh) return reject::err_equalverify;

    // Signature encoding first, then the key's, as the node's OP_CHECKSIG does.
    uint32_t hashtype = 0;
    std::optional<crypto::Signature> parsed_sig;
    if (!sig.empty()) {
        const std::span<const uint8_t> der(sig.data(), sig.size() - 1);
        hashtype = sig.back();
        auto s = crypto::parse_signature(der);
        if (!s) return s.error() == Errc::high_s ? reject::err_high_s : reject::err_der;
        const uint32_t base = hashtype & ~(crypto::SIGHASH_FORKID | crypto::SIGHASH_ANYONECANPAY);
        if (base < crypto::SIGHASH_ALL || base > crypto::SIGHASH_SINGLE) return reject::err_hashtype;
        if (!(hashtype & crypto::SIGHASH_FORKID)) return reject::err_forkid;
        parsed_sig = *s;
    }
    auto pk = crypto::parse_pubkey(key);
    if (!pk) return reject::err_pubkeytype;
    // An empty signature is the one allowed way for CHECKSIG to fail: it
    // pushes false and the script ends false.
    if (!parsed_sig) return reject::err_eval_false;

    const Bytes script_code = crypto::p2pkh_script(pkh);
    auto digest = crypto::sighash_forkid(tx, index, script_code, amount, hashtype);
    if (!digest || !crypto::ecdsa_verify(*parsed_sig, *digest, *pk)) return reject::err_nullfail;
    if (items.size() > 2) return reject::err_cleanstack;
    return {};
}

bool provably_unspendable(std::span<const uint8_t> script) noexcept
{
    return (!script.empty() && script[0] == OP_RETURN) ||
           (script.size() >= 2 && script[0] == OP_0 && script[1] == OP_RETURN);
}

uint64_t min_fee(size_t size_bytes, uint64_t sat_per_kb) noexcept
{
    return (uint64_t(size_bytes) * sat_per_kb + 999) / 1000;
}

crypto::Tx make_genesis_tx(const Hash160 &pkh, uint32_t outputs, uint64_t sats, uint64_t stamp)
{
    crypto::Tx tx;
    crypto::TxIn in;
    in.prevout.vout = 0xffffffff;  // null prevout, as in a coinbase
    static constexpr std::string_view tag = "patchproof-devchain genesis";
    crypto::push_data(in.script_sig, crypto::as_bytes(tag));
    std::array<uint8_t, 8> le{};
    for (size_t i = 0; i < le.size(); ++i) le[i] = uint8_t(stamp >> (8 * i));
    // The stamp makes each fresh chain's genesis txid different, so a
    // wallet cannot confuse two dev chains.
    crypto::push_data(in.script_sig, le);
    tx.inputs.push_back(std::move(in));
    const Bytes script = crypto::p2pkh_script(pkh);
    for (uint32_t i = 0; i < outputs; ++i) tx.outputs.push_back(crypto::TxOut{sats, script});
    return tx;
}

// --- ChainState ---------------------------------------------------------------

ChainState::ChainState(store::Db db, ChainOptions opt) : db_(std::move(db)), opt_(opt) {}

Result<Tip> ChainState::tip()
{
    auto rows = db_.query("SELECT height, hash, mined_at FROM dc_tip WHERE id = 1");
    if (!rows) return rows.error();
    if (rows->size() != 1) return Errc::internal;
    const Row &r = rows->front();
    auto h = store::col_int<int64_t>(r, 0);
    auto t = store::col_int<int64_t>(r, 2);
    if (!h || !t || !r[1]) return Errc::internal;
    return Tip{*h, *r[1], *t};
}

Result<void> ChainState::append_block(Tip &tip, const std::vector<std::string> &txids, int64_t now)
{
    const int64_t height = tip.height + 1;
    Hash256 prev{};
    if (!tip.hash.empty()) {
        auto p = crypto::txid_from_hex(tip.hash);  // same reversal as a txid
        if (!p) return Errc::internal;
        prev = *p;
    }
    // Not a real merkle root (nothing here checks one): a commitment to the
    // block's transactions in order, so the block hash depends on them.
    Hash256 commitment{};
    if (!txids.empty()) {
        Bytes all;
        all.reserve(32 * txids.size());
        for (const std::string &t : txids) {
            auto h = crypto::txid_from_hex(t);
            if (!h) return Errc::internal;
            all.insert(all.end(), h->begin(), h->end());
        }
        commitment = crypto::sha256d(all);
    }
    Bytes header;
    auto le32 = [&header](uint32_t v) {
        for (int i = 0; i < 4; ++i) header.push_back(uint8_t(v >> (8 * i)));
    };
    le32(1);
    header.insert(header.end(), prev.begin(), prev.end());
    header.insert(header.end(), commitment.begin(), commitment.end());
    le32(uint32_t(now));
    le32(kBlockBits);
    le32(uint32_t(height));
    const std::string hash = display_hex(crypto::sha256d(header));

    const std::string prev_hex = display_hex(prev);
    auto ins = db_.execute("INSERT INTO dc_blocks (height, hash, prev_hash, mined_at, tx_count) VALUES (?, ?, ?, ?, ?)",
                           {height, std::string_view(hash), std::string_view(prev_hex), now, int64_t(txids.size())});
    if (!ins) return ins.error();
    for (const std::string &t : txids) {
        auto up = db_.execute("UPDATE dc_txs SET block_height = ? WHERE txid = ? AND block_height IS NULL",
                              {height, std::string_view(t)});
        if (!up) return up.error();
    }
    auto up = db_.execute("UPDATE dc_tip SET height = ?, hash = ?, mined_at = ? WHERE id = 1",
                          {height, std::string_view(hash), now});
    if (!up) return up.error();
    if (*up != 1) return Errc::internal;
    tip = Tip{height, hash, now};
    return {};
}

Result<void> ChainState::insert_tx(const crypto::Tx &tx, const std::string &txid, std::string_view raw_hex,
                                   uint64_t fee, int64_t now)
{
    auto ins = db_.execute("INSERT INTO dc_txs (txid, raw_hex, fee, block_height, accepted_at) VALUES (?, ?, ?, NULL, ?)",
                           {std::string_view(txid), raw_hex, int64_t(fee), now});
    if (!ins) return ins.error();
    for (size_t i = 0; i < tx.outputs.size(); ++i) {
        const crypto::TxOut &o = tx.outputs[i];
        if (provably_unspendable(o.script)) continue;
        std::string pkh_hex;
        if (auto h = crypto::p2pkh_script_hash(o.script)) pkh_hex = crypto::hex_encode(*h);
        const Param pkh = pkh_hex.empty() ? Param(nullptr) : Param(std::string_view(pkh_hex));
        auto out = db_.execute("INSERT INTO dc_outputs (txid, vout, satoshis, pkh, spent_by) VALUES (?, ?, ?, ?, NULL)",
                               {std::string_view(txid), int64_t(i), int64_t(o.satoshis), pkh});
        if (!out) return out.error();
    }
    return {};
}

Result<void> ChainState::init(const std::optional<Genesis> &genesis, bool *created)
{
    if (created) *created = false;
    auto made = store::with_txn(db_, [&](store::Txn &txn) -> Result<bool> {
        short_lock_wait(txn);
        auto rows = db_.query("SELECT height, hash, mined_at FROM dc_tip WHERE id = 1 FOR UPDATE");
        if (!rows) return rows.error();
        if (rows->size() != 1) return Errc::internal;  // schema not migrated
        auto height = store::col_int<int64_t>(rows->front(), 0);
        if (!height) return height.error();
        if (*height >= 0) return false;

        Tip tip;
        const int64_t now = now_sec();
        if (auto r = append_block(tip, {}, now); !r) return r.error();
        if (genesis) {
            const crypto::Tx tx = make_genesis_tx(genesis->pkh, genesis->outputs, genesis->sats,
                                                  uint64_t(std::chrono::system_clock::now().time_since_epoch().count()));
            const std::string txid = crypto::txid_hex(tx);
            const std::string raw_hex = crypto::hex_encode(crypto::serialize(tx));
            if (auto r = insert_tx(tx, txid, raw_hex, 0, now); !r) return r.error();
            if (auto r = append_block(tip, {txid}, now); !r) return r.error();
        }
        return true;
    });
    if (!made) return made.error();
    if (created) *created = *made;
    return {};
}

Result<SubmitOutcome> ChainState::submit(std::string_view raw_hex)
{
    auto raw = crypto::hex_decode(raw_hex);
    if (!raw || raw->empty()) return rejected({}, reject::decode_failed);
    auto parsed = crypto::parse_tx(*raw);
    if (!parsed)
        return rejected({}, parsed.error() == Errc::out_of_range ? reject::vout_toolarge : reject::decode_failed);
    const crypto::Tx &tx = *parsed;
    // parse_tx is strict (canonical varints, no trailing bytes), so the
    // received bytes are exactly the serialization and hash to the txid.
    std::string txid = display_hex(crypto::sha256d(*raw));

    if (tx.inputs.empty()) return rejected(txid, reject::vin_empty);
    if (tx.outputs.empty()) return rejected(txid, reject::vout_empty);
    std::set<std::pair<Hash256, uint32_t>> seen;
    for (const crypto::TxIn &in : tx.inputs) {
        if (!seen.emplace(in.prevout.txid, in.prevout.vout).second) return rejected(txid, reject::inputs_duplicate);
        const bool null_prevout = in.prevout.vout == 0xffffffff &&
                                  std::all_of(in.prevout.txid.begin(), in.prevout.txid.end(),
                                              [](uint8_t b) { return b == 0; });
        if (null_prevout) return rejected(txid, tx.inputs.size() == 1 ? reject::coinbase : reject::prevout_null);
    }
    const std::string lower_hex = crypto::hex_encode(*raw);
    return store::with_txn(db_, [&](store::Txn &txn) { return submit_once(txn, tx, lower_hex, txid, raw->size()); });
}

Result<SubmitOutcome> ChainState::submit_once(store::Txn &txn, const crypto::Tx &tx, std::string_view raw_hex,
                                              const std::string &txid, size_t size)
{
    // A rejection writes nothing, so committing it (with_txn commits every
    // value) only ends the transaction and frees the row locks.
    const SubmitOutcome known{SubmitOutcome::Kind::known, txid, {}};
    short_lock_wait(txn);

    auto have = db_.query("SELECT 1 FROM dc_txs WHERE txid = ?", {std::string_view(txid)});
    if (!have) return have.error();
    if (!have->empty()) return known;

    // Lock the spent outputs in one global order, so two transactions
    // sharing inputs queue up instead of deadlocking.
    struct Prev {
        std::string txid;
        uint32_t vout = 0;
        uint64_t satoshis = 0;
        std::optional<Hash160> pkh;
    };
    std::vector<Prev> prevs(tx.inputs.size());
    std::vector<size_t> order(tx.inputs.size());
    for (size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
        prevs[i].txid = display_hex(tx.inputs[i].prevout.txid);
        prevs[i].vout = tx.inputs[i].prevout.vout;
    }
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return std::tie(prevs[a].txid, prevs[a].vout) < std::tie(prevs[b].txid, prevs[b].vout);
    });

    uint64_t in_sum = 0;
    for (size_t i : order) {
        Prev &p = prevs[i];
        auto rows = db_.query("SELECT satoshis, pkh, spent_by FROM dc_outputs WHERE txid = ? AND vout = ? FOR UPDATE",
                              {std::string_view(p.txid), int64_t(p.vout)});
        if (!rows) return rows.error();
        if (rows->empty()) return rejected(txid, reject::missing_inputs);
        const Row &r = rows->front();
        if (r[2]) {
            // Another worker accepted these very bytes while we waited.
            if (*r[2] == txid) return known;
            auto spender = db_.query("SELECT block_height FROM dc_txs WHERE txid = ?", {std::string_view(*r[2])});
            if (!spender) return spender.error();
            const bool in_block = !spender->empty() && spender->front()[0].has_value();
            return rejected(txid, in_block ? reject::missing_inputs : reject::mempool_conflict);
        }
        auto sats = store::col_int<int64_t>(r, 0);
        if (!sats || *sats < 0) return Errc::internal;
        p.satoshis = uint64_t(*sats);
        if (r[1]) {
            Hash160 h{};
            if (!crypto::hex_decode_into(h, *r[1])) return Errc::internal;
            p.pkh = h;
        }
        in_sum += p.satoshis;
        if (in_sum > crypto::MAX_MONEY) return rejected(txid, reject::inputvalues_outofrange);
    }

    uint64_t out_sum = 0;
    for (const crypto::TxOut &o : tx.outputs) out_sum += o.satoshis;  // parse_tx bounds the sum
    if (out_sum > in_sum) return rejected(txid, reject::in_belowout);
    const uint64_t fee = in_sum - out_sum;
    if (fee < min_fee(size, opt_.min_fee_per_kb)) return rejected(txid, reject::insufficient_fee);

    for (size_t i = 0; i < prevs.size(); ++i) {
        // Only P2PKH is interpreted; any other locking script cannot be spent here.
        const std::string_view err =
            prevs[i].pkh ? check_p2pkh_input(tx, i, prevs[i].satoshis, *prevs[i].pkh) : reject::err_eval_false;
        if (!err.empty()) return rejected(txid, script_error(err));
    }

    const int64_t now = now_sec();
    if (auto r = insert_tx(tx, txid, raw_hex, fee, now); !r) return r.error();
    for (const Prev &p : prevs) {
        auto up = db_.execute("UPDATE dc_outputs SET spent_by = ? WHERE txid = ? AND vout = ? AND spent_by IS NULL",
                              {std::string_view(txid), std::string_view(p.txid), int64_t(p.vout)});
        if (!up) return up.error();
        if (*up != 1) return Errc::internal;  // impossible while we hold the row lock
    }
    return SubmitOutcome{SubmitOutcome::Kind::accepted, txid, {}};
}

Result<std::vector<UnspentOutput>> ChainState::unspent(const Hash160 &pkh, size_t limit)
{
    const std::string pkh_hex = crypto::hex_encode(pkh);
    auto rows = db_.query("SELECT o.txid, o.vout, o.satoshis, t.block_height FROM dc_outputs o"
                          " JOIN dc_txs t ON t.txid = o.txid"
                          " WHERE o.pkh = ? AND o.spent_by IS NULL ORDER BY t.seq, o.vout LIMIT ?",
                          {std::string_view(pkh_hex), int64_t(limit)});
    if (!rows) return rows.error();
    // The tip is read after the outputs: blocks only grow, so every height
    // seen above is <= this tip and confirmations never go negative.
    auto t = tip();
    if (!t) return t.error();
    std::vector<UnspentOutput> out;
    out.reserve(rows->size());
    for (const Row &r : *rows) {
        auto vout = store::col_int<int64_t>(r, 1);
        auto sats = store::col_int<int64_t>(r, 2);
        if (!r[0] || !vout || !sats) return Errc::internal;
        UnspentOutput u{*r[0], uint32_t(*vout), uint64_t(*sats), 0, 0};
        if (r[3]) {
            auto h = store::col_int<int64_t>(r, 3);
            if (!h) return Errc::internal;
            u.height = *h;
            u.confirmations = std::max<int64_t>(0, t->height - *h + 1);
        }
        out.push_back(std::move(u));
    }
    return out;
}

Result<TxRecord> ChainState::find_tx(std::string_view txid_hex)
{
    if (txid_hex.size() != 64 || !crypto::is_hex(txid_hex)) return Errc::invalid_argument;
    std::string txid(txid_hex);
    for (char &c : txid) c = char(std::tolower(static_cast<unsigned char>(c)));
    auto rows = db_.query("SELECT raw_hex, block_height FROM dc_txs WHERE txid = ?", {std::string_view(txid)});
    if (!rows) return rows.error();
    if (rows->empty()) return Errc::not_found;
    const Row &r = rows->front();
    if (!r[0]) return Errc::internal;
    TxRecord rec{txid, *r[0], std::nullopt, 0};
    if (r[1]) {
        auto h = store::col_int<int64_t>(r, 1);
        if (!h) return Errc::internal;
        auto t = tip();
        if (!t) return t.error();
        rec.block_height = *h;
        rec.confirmations = std::max<int64_t>(0, t->height - *h + 1);
    }
    return rec;
}

Result<MineOutcome> ChainState::mine(int blocks, int64_t min_age_sec)
{
    if (blocks < 1) return Errc::invalid_argument;
    return store::with_txn(db_, [&](store::Txn &txn) -> Result<MineOutcome> {
        short_lock_wait(txn);
        auto rows = db_.query("SELECT height, hash, mined_at FROM dc_tip WHERE id = 1 FOR UPDATE");
        if (!rows) return rows.error();
        if (rows->size() != 1) return Errc::internal;
        auto height = store::col_int<int64_t>(rows->front(), 0);
        auto mined_at = store::col_int<int64_t>(rows->front(), 2);
        if (!height || !mined_at || !rows->front()[1] || *height < 0) return Errc::internal;
        Tip tip{*height, *rows->front()[1], *mined_at};

        const int64_t now = now_sec();
        int n = blocks;
        if (min_age_sec >= 0) {
            // Another worker may have mined while we waited for the lock.
            if (now - tip.mined_at < min_age_sec) return MineOutcome{tip.height, 0};
            n = 1;
        }
        auto pool = db_.query("SELECT txid FROM dc_txs WHERE block_height IS NULL ORDER BY seq");
        if (!pool) return pool.error();
        std::vector<std::string> txids;
        txids.reserve(pool->size());
        for (const Row &r : *pool) {
            if (!r[0]) return Errc::internal;
            txids.push_back(*r[0]);
        }
        for (int i = 0; i < n; ++i) {
            if (auto r = append_block(tip, i == 0 ? txids : std::vector<std::string>{}, now); !r) return r.error();
        }
        return MineOutcome{tip.height, n};
    });
}

}  // namespace pp::devchain

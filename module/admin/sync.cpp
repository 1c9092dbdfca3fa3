// SPDX-License-Identifier: MIT
#include "admin/sync.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "crypto/base58.h"
#include "crypto/encoding.h"
#include "crypto/tx.h"
#include "store/maintenance.h"

namespace pp::admin {
namespace {

// An address sync reconciles: where its outputs go in the pool.
struct Watched {
    std::string address, key_id, script_hex;
};

// One output the chain lists, with the address it pays.
struct Listed {
    chain::Unspent u;
    const Watched *to = nullptr;
};

using Outpoint = std::pair<std::string, uint32_t>;

// The key id must be the key of the address, or the pool would hold coins
// nobody can spend.
Result<Watched> watched(std::string_view address, std::string_view key_id, crypto::Network net)
{
    auto pkh = crypto::parse_p2pkh_address(address, net);
    auto key = crypto::hex_decode(key_id);
    if (!pkh || !key || key->size() != 33 ||
        crypto::pubkey_hash(std::span<const uint8_t, 33>(key->data(), 33)) != *pkh)
        return Errc::invalid_argument;
    return Watched{std::string(address), crypto::hex_encode(*key), crypto::hex_encode(crypto::p2pkh_script(*pkh))};
}

// The outpoint as a transaction input serializes it: internal-order txid,
// little-endian vout.
std::optional<std::string> outpoint_hex(const store::Utxo &u)
{
    auto txid = crypto::txid_from_hex(u.txid);
    if (!txid)
        return std::nullopt;
    uint8_t vout[4] = {uint8_t(u.vout), uint8_t(u.vout >> 8), uint8_t(u.vout >> 16), uint8_t(u.vout >> 24)};
    return crypto::hex_encode(*txid) + crypto::hex_encode(vout);
}

bool spends(const store::StoredTx &t, const store::Utxo &u)
{
    auto raw = crypto::hex_decode(t.raw_hex);
    auto want = crypto::txid_from_hex(u.txid);
    if (!raw || !want)
        return false;
    auto tx = crypto::parse_tx(*raw);
    if (!tx)
        return false;
    return std::any_of(tx->inputs.begin(), tx->inputs.end(),
                       [&](const crypto::TxIn &in) { return in.prevout.txid == *want && in.prevout.vout == u.vout; });
}

class Sync {
public:
    Sync(store::Db &db, chain::Client &chain, const MaintainSettings &s, bool dry_run, const KeepLease &keep)
        : db_(db), chain_(chain), s_(s), dry_(dry_run), keep_(keep)
    {
    }

    Result<SyncCounts> run();

private:
    Result<void> list(const Watched &w);
    int64_t confirmations(const chain::Unspent &u) const;
    Result<bool> ours(const std::string &txid);
    Result<std::optional<std::string>> spent_by_us(const store::SyncEntry &e);
    Result<void> on_listed(const store::SyncEntry &e, const Listed &l);
    Result<void> on_missing(const store::SyncEntry &e);
    Result<void> add_new(const Listed &l);
    Result<void> keep() const { return keep_ ? keep_() : Result<void>(); }

    store::Db &db_;
    chain::Client &chain_;
    const MaintainSettings &s_;
    bool dry_;
    const KeepLease &keep_;
    int64_t tip_ = 0;
    std::vector<Watched> addrs_;
    std::map<Outpoint, Listed> listed_;
    std::map<std::string, bool> ours_;
    SyncCounts n_;
};

Result<void> count_if(Result<bool> r, uint64_t &counter)
{
    if (!r)
        return r.error();
    counter += *r ? 1 : 0;
    return {};
}

Result<void> Sync::list(const Watched &w)
{
    auto outs = chain_.unspent(w.address);
    if (!outs)
        return outs.error() == Errc::unavailable || outs.error() == Errc::timeout ? Errc::unavailable : outs.error();
    for (chain::Unspent &u : *outs) {
        for (char &c : u.txid)
            c = static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
        Outpoint key{u.txid, u.vout};
        listed_.emplace(std::move(key), Listed{std::move(u), &w});
    }
    return {};
}

int64_t Sync::confirmations(const chain::Unspent &u) const
{
    if (u.confirmations >= 0)
        return u.confirmations;
    return u.height > 0 && tip_ >= u.height ? tip_ - u.height + 1 : 0;
}

Result<bool> Sync::ours(const std::string &txid)
{
    if (auto it = ours_.find(txid); it != ours_.end())
        return it->second;
    auto r = store::is_job_txid(db_, txid);
    if (!r)
        return r.error();
    ours_.emplace(txid, *r);
    return *r;
}

// The txid of a stored transaction of ours that spends the entry and that
// the chain knows; nullopt when there is none.
Result<std::optional<std::string>> Sync::spent_by_us(const store::SyncEntry &e)
{
    std::vector<store::StoredTx> cands;
    if (e.last_job) {
        auto t = store::job_tx(db_, *e.last_job);
        if (!t)
            return t.error();
        if (*t)
            cands.push_back(std::move(**t));
    }
    if (cands.empty() || !spends(cands.front(), e.utxo)) {
        // Released since (locked_by cleared): look for the outpoint in every
        // stored transaction. Rare (only outputs gone from the chain).
        auto needle = outpoint_hex(e.utxo);
        if (!needle)
            return std::optional<std::string>();
        auto found = store::job_txs_containing(db_, *needle, 8);
        if (!found)
            return found.error();
        cands = std::move(*found);
    }
    for (const store::StoredTx &t : cands) {
        if (!spends(t, e.utxo))
            continue;
        auto known = chain_.tx(t.txid);
        if (known)
            return std::optional<std::string>(t.txid);
        if (known.error() != Errc::not_found)
            return Errc::unavailable;
    }
    return std::optional<std::string>();
}

Result<void> Sync::on_listed(const store::SyncEntry &e, const Listed &l)
{
    const int64_t conf = confirmations(l.u);
    if (e.utxo.status == "unconfirmed") {
        if (conf < s_.min_confirmations)
            return {};
        return count_if(dry_ ? Result<bool>(true) : store::promote_unconfirmed(db_, e.utxo), n_.updated);
    }
    if (e.utxo.status != "quarantined")
        return {};
    auto mine = ours(e.utxo.txid);
    if (!mine)
        return mine.error();
    const std::string_view to = *mine || conf >= s_.min_confirmations ? "available" : "unconfirmed";
    return count_if(dry_ ? Result<bool>(true) : store::release_quarantined(db_, e.utxo, to), n_.released);
}

Result<void> Sync::on_missing(const store::SyncEntry &e)
{
    if (e.utxo.status != "available" && e.utxo.status != "unconfirmed")
        return {};  // quarantined stays so until the chain lists it again
    auto by = spent_by_us(e);
    if (!by)
        return by.error();
    if (*by)
        return count_if(dry_ ? Result<bool>(true) : store::mark_spent_by(db_, e.utxo, **by), n_.marked_spent);
    return count_if(dry_ ? Result<bool>(true) : store::quarantine_entry(db_, e.utxo, "not unspent on chain (sync)"),
                    n_.quarantined);
}

Result<void> Sync::add_new(const Listed &l)
{
    store::UtxoPool pool(db_);
    auto held = pool.find(l.u.txid, l.u.vout);
    if (!held)
        return held.error();
    if (*held)
        return {};  // in the pool already (locked, spent, or just added by a worker)
    auto mine = ours(l.u.txid);
    if (!mine)
        return mine.error();
    const bool ready = *mine || confirmations(l.u) >= s_.min_confirmations;
    if (dry_) {
        ++n_.added;
        return {};
    }
    auto id = pool.add(l.u.txid, l.u.vout, l.u.satoshis, l.to->key_id, l.to->script_hex,
                       ready ? "available" : "unconfirmed");
    if (!id)
        return id.error() == Errc::conflict ? Result<void>() : Result<void>(id.error());  // a worker was first
    ++n_.added;
    return {};
}

Result<SyncCounts> Sync::run()
{
    auto net = crypto::parse_network(s_.network);
    if (!net || s_.funding_address.empty())
        return Errc::invalid_argument;
    auto funding = watched(s_.funding_address, s_.funding_key_id, *net);
    if (!funding)
        return funding.error();
    addrs_.push_back(std::move(*funding));
    if (!s_.change_address.empty() && s_.change_address != s_.funding_address) {
        auto change = watched(s_.change_address, s_.change_key_id, *net);
        if (!change)
            return change.error();
        addrs_.push_back(std::move(*change));
    }

    if (auto k = keep(); !k)
        return k.error();
    // The pool first, then the chain (see sync.h).
    auto entries = store::sync_entries(db_, addrs_.front().key_id, addrs_.back().key_id);
    if (!entries)
        return entries.error();
    auto info = chain_.info();
    if (!info)
        return Errc::unavailable;
    tip_ = info->blocks;
    for (const Watched &w : addrs_)
        if (auto r = list(w); !r)
            return r.error();

    std::set<Outpoint> pooled;
    for (const store::SyncEntry &e : *entries) {
        if (auto k = keep(); !k)  // each entry may ask the chain: hold the lease
            return k.error();
        Outpoint key{e.utxo.txid, e.utxo.vout};
        pooled.insert(key);
        auto it = listed_.find(key);
        auto r = it != listed_.end() ? on_listed(e, it->second) : on_missing(e);
        if (!r)
            return r.error();
    }
    for (const auto &[key, l] : listed_) {
        if (pooled.count(key))
            continue;
        if (auto k = keep(); !k)
            return k.error();
        if (auto r = add_new(l); !r)
            return r.error();
    }
    return n_;
}

}  // namespace

Result<SyncCounts> sync_pool(store::Db &db, chain::Client &chain, const MaintainSettings &s, bool dry_run,
                             const KeepLease &keep)
{
    Sync sync(db, chain, s, dry_run, keep);
    return sync.run();
}

}  // namespace pp::admin

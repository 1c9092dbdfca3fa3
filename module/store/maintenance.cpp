// SPDX-License-Identifier: MIT
#include "store/maintenance.h"

#include "store/row.h"

namespace pp::store {
namespace {

const std::string kCols = std::string(kUtxoColumns) + ", locked_by";

int64_t i64(uint64_t v) noexcept { return static_cast<int64_t>(v); }

// kCols: the pool's columns, then the job an entry was last locked by.
Result<SyncEntry> to_entry(const Row &r)
{
    auto u = utxo_from_row(r, 1);
    if (!u)
        return u.error();
    auto job = col_int_or_null<uint64_t>(r, 8);
    if (!job)
        return Errc::internal;
    return SyncEntry{std::move(*u), *job};
}

Result<std::vector<Utxo>> to_utxos(Result<std::vector<Row>> rows) { return utxos_from_rows(std::move(rows), 1); }

Result<bool> one_row(Result<uint64_t> n)
{
    if (!n)
        return n.error();
    return *n == 1;
}

Result<std::vector<StoredTx>> to_txs(Result<std::vector<Row>> rows)
{
    if (!rows)
        return rows.error();
    std::vector<StoredTx> out;
    for (const Row &r : *rows) {
        auto id = col_int<uint64_t>(r, 0);
        if (r.size() != 3 || !id || !r[1] || !r[2])
            return Errc::internal;
        out.push_back(StoredTx{*id, *r[1], *r[2]});
    }
    return out;
}

}  // namespace

Result<std::vector<SyncEntry>> sync_entries(Db &db, std::string_view key_a, std::string_view key_b)
{
    auto rows = db.query(std::string("SELECT ") + kCols +
                             " FROM utxos WHERE key_id IN (?, ?) "
                             "AND status IN ('unconfirmed', 'available', 'quarantined') ORDER BY id",
                         {key_a, key_b});
    if (!rows)
        return rows.error();
    std::vector<SyncEntry> out;
    out.reserve(rows->size());
    for (const Row &r : *rows) {
        auto e = to_entry(r);
        if (!e)
            return e.error();
        out.push_back(std::move(*e));
    }
    return out;
}

Result<bool> promote_unconfirmed(Db &db, const Utxo &u)
{
    return one_row(db.execute("UPDATE utxos SET status = 'available', version = version + 1 "
                              "WHERE id = ? AND version = ? AND status = 'unconfirmed'",
                              {i64(u.id), i64(u.version)}));
}

Result<bool> release_quarantined(Db &db, const Utxo &u, std::string_view to)
{
    if (to != "available" && to != "unconfirmed")
        return Errc::invalid_argument;
    return one_row(db.execute("UPDATE utxos SET status = ?, quarantine_reason = NULL, locked_by = NULL, "
                              "locked_ms = NULL, version = version + 1 "
                              "WHERE id = ? AND version = ? AND status = 'quarantined'",
                              {to, i64(u.id), i64(u.version)}));
}

Result<bool> mark_spent_by(Db &db, const Utxo &u, std::string_view spent_txid)
{
    return one_row(db.execute("UPDATE utxos SET status = 'spent', spent_txid = ?, version = version + 1 "
                              "WHERE id = ? AND version = ? AND status IN ('available', 'unconfirmed')",
                              {spent_txid, i64(u.id), i64(u.version)}));
}

Result<bool> quarantine_entry(Db &db, const Utxo &u, std::string_view reason)
{
    return one_row(db.execute("UPDATE utxos SET status = 'quarantined', quarantine_reason = ?, "
                              "version = version + 1 "
                              "WHERE id = ? AND version = ? AND status IN ('available', 'unconfirmed')",
                              {reason.substr(0, 255), i64(u.id), i64(u.version)}));
}

Result<std::optional<StoredTx>> job_tx(Db &db, uint64_t job_id)
{
    auto txs = to_txs(db.query("SELECT id, txid, raw_tx FROM jobs WHERE id = ? AND txid IS NOT NULL "
                               "AND raw_tx IS NOT NULL",
                               {i64(job_id)}));
    if (!txs)
        return txs.error();
    if (txs->empty())
        return std::optional<StoredTx>();
    return std::optional<StoredTx>(std::move(txs->front()));
}

Result<std::vector<StoredTx>> job_txs_containing(Db &db, std::string_view needle, int64_t limit)
{
    // Only hex digits reach the pattern, so it has no LIKE metacharacters.
    for (char c : needle)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return Errc::invalid_argument;
    if (needle.empty() || limit < 1)
        return Errc::invalid_argument;
    const std::string pattern = "%" + std::string(needle) + "%";
    // raw_tx is stored as hex_encode wrote it (lowercase): a plain LIKE on
    // the column. Only jobs that stored a transaction are read; one that
    // failed before signing has none (a failed job that signed stays: its
    // transaction may have reached the chain). Newest first, so the scan
    // stops at `limit` matches.
    return to_txs(db.query("SELECT id, txid, raw_tx FROM jobs WHERE raw_tx IS NOT NULL AND txid IS NOT NULL "
                           "AND raw_tx LIKE ? ORDER BY id DESC LIMIT ?",
                           {std::string_view(pattern), limit}));
}

Result<bool> is_job_txid(Db &db, std::string_view txid)
{
    auto rows = db.query("SELECT 1 FROM jobs WHERE txid = ? LIMIT 1", {txid});
    if (!rows)
        return rows.error();
    return !rows->empty();
}

Result<std::vector<Utxo>> available_dust(Db &db, uint64_t below, int64_t limit)
{
    return to_utxos(db.query(std::string("SELECT ") + kCols +
                                 " FROM utxos WHERE status = 'available' AND satoshis < ? "
                                 "ORDER BY satoshis ASC, id ASC LIMIT ?",
                             {i64(below), limit}));
}

Result<uint64_t> count_available_at_least(Db &db, uint64_t min_sats)
{
    auto rows = db.query("SELECT COUNT(*) FROM utxos WHERE status = 'available' AND satoshis >= ?", {i64(min_sats)});
    if (!rows)
        return rows.error();
    if (rows->size() != 1)
        return Errc::internal;
    return col_int<uint64_t>((*rows)[0], 0);
}

Result<std::optional<Utxo>> largest_available(Db &db)
{
    auto rows = to_utxos(db.query(std::string("SELECT ") + kCols +
                                  " FROM utxos WHERE status = 'available' ORDER BY satoshis DESC, id ASC LIMIT 1"));
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<Utxo>();
    return std::optional<Utxo>(std::move(rows->front()));
}

Result<std::vector<Utxo>> entries_in(Db &db, std::string_view status)
{
    return to_utxos(db.query(std::string("SELECT ") + kCols + " FROM utxos WHERE status = ? ORDER BY id", {status}));
}

}  // namespace pp::store

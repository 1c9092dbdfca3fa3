// SPDX-License-Identifier: MIT
#include "store/utxo_pool.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "store/jobs.h"
#include "store/row.h"

namespace pp::store {
namespace {

// Every guarded loop gives up after this many re-reads; callers see
// conflict (or an empty lock) and retry later instead of spinning.
constexpr int kMaxRounds = 32;
// Candidates read per round in the smallest-sufficient pass.
constexpr int64_t kSufficientBatch = 8;
// Most inputs one job may lock: the KMS signs at most 64 digests per call.
constexpr size_t kMaxInputsPerJob = 50;
// Rows handled per reap / bulk round.
constexpr int64_t kBatch = 500;
constexpr uint64_t kMaxMoney = 21'000'000ULL * 100'000'000ULL;

constexpr const char *kColumns = kUtxoColumns;

// Checked id/version (or count/sum) pair of a row.
bool two_u64(const Row &r, uint64_t *a, uint64_t *b)
{
    auto x = col_int<uint64_t>(r, 0);
    auto y = col_int<uint64_t>(r, 1);
    if (!x || !y)
        return false;
    *a = *x;
    *b = *y;
    return true;
}

bool is_hex_of(std::string_view s, size_t min, size_t max) noexcept
{
    return s.size() >= min && s.size() <= max && s.size() % 2 == 0 &&
           std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (char &c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

int64_t i64(uint64_t v) noexcept { return static_cast<int64_t>(v); }

}  // namespace

Result<Utxo> utxo_from_row(const Row &r, size_t extra)
{
    Utxo u;
    auto id = col_int<uint64_t>(r, 0);
    auto vout = col_int<uint32_t>(r, 2);
    auto sats = col_int<uint64_t>(r, 3);
    auto version = col_int<uint64_t>(r, 7);
    if (r.size() != 8 + extra || !id || !r[1] || !vout || !sats || !r[4] || !r[5] || !r[6] || !version)
        return Errc::internal;
    u.id = *id;
    u.satoshis = *sats;
    u.version = *version;
    u.txid = *r[1];
    u.vout = *vout;
    u.key_id = *r[4];
    u.script_hex = *r[5];
    u.status = *r[6];
    return u;
}

Result<std::vector<Utxo>> utxos_from_rows(Result<std::vector<Row>> rows, size_t extra)
{
    if (!rows)
        return rows.error();
    std::vector<Utxo> out;
    out.reserve(rows->size());
    for (const Row &r : *rows) {
        auto u = utxo_from_row(r, extra);
        if (!u)
            return u.error();
        out.push_back(std::move(*u));
    }
    return out;
}

// ---- single-row transitions -------------------------------------------------
// Each is one statement guarded by id + version (+ the state it leaves), so
// a concurrent writer makes it match 0 rows instead of being overwritten.

namespace {

Result<bool> try_lock(Db &db, const Utxo &u, uint64_t job_id, int64_t now_ms)
{
    auto n = db.execute("UPDATE utxos SET status = 'locked', locked_by = ?, locked_ms = ?, version = version + 1 "
                        "WHERE id = ? AND version = ? AND status = 'available'",
                        {i64(job_id), now_ms, i64(u.id), i64(u.version)});
    if (!n)
        return n.error();
    return *n == 1;
}

Result<bool> try_release(Db &db, const Utxo &u, uint64_t job_id)
{
    auto n = db.execute("UPDATE utxos SET status = 'available', locked_by = NULL, locked_ms = NULL, "
                        "version = version + 1 WHERE id = ? AND version = ? AND status = 'locked' AND locked_by = ?",
                        {i64(u.id), i64(u.version), i64(job_id)});
    if (!n)
        return n.error();
    return *n == 1;
}

Result<bool> try_spend(Db &db, const Utxo &u, uint64_t job_id, std::string_view spent_txid)
{
    // locked_by stays: it records which job spent the output.
    auto n = db.execute("UPDATE utxos SET status = 'spent', spent_txid = ?, version = version + 1 "
                        "WHERE id = ? AND version = ? AND status = 'locked' AND locked_by = ?",
                        {spent_txid, i64(u.id), i64(u.version), i64(job_id)});
    if (!n)
        return n.error();
    return *n == 1;
}

// Best effort on an error path: the reaper frees whatever this misses.
void release_all(Db &db, std::vector<Utxo> &held, uint64_t job_id)
{
    for (const Utxo &u : held)
        (void)try_release(db, u, job_id);
    held.clear();
}

}  // namespace

Result<bool> UtxoPool::lock_exact(uint64_t job_id, const std::vector<Utxo> &utxos, int64_t now_ms)
{
    if (utxos.empty() || utxos.size() > kMaxInputsPerJob)
        return Errc::invalid_argument;
    for (const Utxo &u : utxos) {
        auto ok = try_lock(db_, u, job_id, now_ms);
        if (!ok)
            return ok.error();
        if (!*ok)
            return false;
    }
    return true;
}

Result<std::vector<Utxo>> UtxoPool::lock_for_job(uint64_t job_id, uint64_t need_satoshis, int64_t now_ms)
{
    if (job_id == 0 || job_id > uint64_t(std::numeric_limits<int64_t>::max()) || need_satoshis > kMaxMoney)
        return Errc::invalid_argument;

    // Pass 1: the smallest single output that covers the need.
    for (int round = 0; round < kMaxRounds; ++round) {
        auto cands = utxos_from_rows(db_.query(std::string("SELECT ") + kColumns +
                                            " FROM utxos WHERE status = 'available' AND satoshis >= ? "
                                            "ORDER BY satoshis ASC, id ASC LIMIT ?",
                                        {i64(need_satoshis), kSufficientBatch}));
        if (!cands)
            return cands.error();
        if (cands->empty())
            break;
        for (Utxo &u : *cands) {
            auto won = try_lock(db_, u, job_id, now_ms);
            if (!won)
                return won.error();
            if (*won) {
                u.status = "locked";
                u.version += 1;
                return std::vector<Utxo>{std::move(u)};
            }
        }
        // Every candidate went to another job between read and update: re-read.
    }

    // Pass 2: largest first until the sum covers the need.
    std::vector<Utxo> held;
    uint64_t sum = 0;
    for (int round = 0; round < kMaxRounds && held.size() < kMaxInputsPerJob; ++round) {
        // Outputs we already hold are 'locked' now, so they are not re-read.
        auto cands = utxos_from_rows(db_.query(std::string("SELECT ") + kColumns +
                                            " FROM utxos WHERE status = 'available' "
                                            "ORDER BY satoshis DESC, id ASC LIMIT ?",
                                        {int64_t(kMaxInputsPerJob - held.size())}));
        if (!cands) {
            release_all(db_, held, job_id);
            return cands.error();
        }
        if (cands->empty())
            break;
        bool lost = false;
        for (Utxo &u : *cands) {
            auto won = try_lock(db_, u, job_id, now_ms);
            if (!won) {
                release_all(db_, held, job_id);
                return won.error();
            }
            if (!*won) {
                lost = true;
                continue;
            }
            u.status = "locked";
            u.version += 1;
            sum += u.satoshis;
            held.push_back(std::move(u));
            if (sum >= need_satoshis)
                return held;
        }
        if (!lost)
            break;  // saw every candidate and they do not cover the need
    }
    // Shortfall: give back what this call took; the caller retries later.
    release_all(db_, held, job_id);
    return std::vector<Utxo>{};
}

Result<std::vector<Utxo>> UtxoPool::locked_by(uint64_t job_id)
{
    return utxos_from_rows(db_.query(std::string("SELECT ") + kColumns +
                                  " FROM utxos WHERE status = 'locked' AND locked_by = ? ORDER BY id",
                              {i64(job_id)}));
}

Result<std::optional<Utxo>> UtxoPool::find(std::string_view txid, uint32_t vout)
{
    auto rows = utxos_from_rows(db_.query(std::string("SELECT ") + kColumns + " FROM utxos WHERE txid = ? AND vout = ?",
                                   {txid, int64_t{vout}}));
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<Utxo>();
    return std::optional<Utxo>(std::move(rows->front()));
}

Result<uint64_t> UtxoPool::mark_spent(uint64_t job_id, std::string_view spent_txid)
{
    if (!is_hex_of(spent_txid, 64, 64))
        return Errc::invalid_argument;
    const std::string txid = lower(spent_txid);
    uint64_t done = 0;
    for (int round = 0; round < kMaxRounds; ++round) {
        auto held = locked_by(job_id);
        if (!held)
            return held.error();
        if (held->empty())
            return done;
        for (const Utxo &u : *held) {
            auto ok = try_spend(db_, u, job_id, txid);
            if (!ok)
                return ok.error();
            done += *ok ? 1 : 0;
        }
    }
    return Errc::conflict;
}

Result<uint64_t> UtxoPool::unlock(uint64_t job_id)
{
    uint64_t done = 0;
    for (int round = 0; round < kMaxRounds; ++round) {
        auto held = locked_by(job_id);
        if (!held)
            return held.error();
        if (held->empty())
            return done;
        for (const Utxo &u : *held) {
            auto ok = try_release(db_, u, job_id);
            if (!ok)
                return ok.error();
            done += *ok ? 1 : 0;
        }
    }
    return Errc::conflict;
}

Result<bool> UtxoPool::release(uint64_t job_id, uint64_t utxo_id)
{
    auto n = db_.execute("UPDATE utxos SET status = 'available', locked_by = NULL, locked_ms = NULL, "
                         "version = version + 1 WHERE id = ? AND status = 'locked' AND locked_by = ?",
                         {i64(utxo_id), i64(job_id)});
    if (!n)
        return n.error();
    return *n == 1;
}

Result<bool> UtxoPool::quarantine(uint64_t job_id, uint64_t utxo_id, std::string_view reason)
{
    auto n = db_.execute("UPDATE utxos SET status = 'quarantined', quarantine_reason = ?, version = version + 1 "
                         "WHERE id = ? AND status = 'locked' AND locked_by = ?",
                         {reason.substr(0, 255), i64(utxo_id), i64(job_id)});
    if (!n)
        return n.error();
    return *n == 1;
}

Result<uint64_t> UtxoPool::reap(int64_t older_than_ms, int64_t now_ms)
{
    // The job condition is part of the guarded UPDATE itself, not only of the
    // SELECT: a job that reaches 'signed' between the two must keep its
    // inputs (its transaction may already be on the wire).
    static constexpr const char *kFree =
        "UPDATE utxos SET status = 'available', locked_by = NULL, locked_ms = NULL, version = version + 1 "
        "WHERE id = ? AND version = ? AND status = 'locked' AND locked_ms < ? "
        "AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = utxos.locked_by "
        "AND (j.step NOT IN (?, ?, ?) OR j.lease_until_ms >= ?))";
    // Steps whose inputs may be freed: nothing signed yet, or given up.
    const std::string_view q = job_step_text(JobStep::queued), l = job_step_text(JobStep::inputs_locked),
                           f = job_step_text(JobStep::failed);
    uint64_t freed = 0;
    for (int round = 0; round < kMaxRounds; ++round) {
        auto rows = db_.query("SELECT u.id, u.version FROM utxos u LEFT JOIN jobs j ON j.id = u.locked_by "
                              "WHERE u.status = 'locked' AND u.locked_ms < ? "
                              "AND (j.id IS NULL OR (j.step IN (?, ?, ?) AND j.lease_until_ms < ?)) "
                              "ORDER BY u.id LIMIT ?",
                              {older_than_ms, q, l, f, now_ms, kBatch});
        if (!rows)
            return rows.error();
        if (rows->empty())
            return freed;
        // A row that matches 0 here was changed by another writer since the
        // SELECT; the next round re-reads it (or no longer sees it).
        for (const Row &r : *rows) {
            uint64_t id = 0, version = 0;
            if (r.size() != 2 || !two_u64(r, &id, &version))
                return Errc::internal;
            auto n = db_.execute(kFree, {i64(id), i64(version), older_than_ms, q, l, f, now_ms});
            if (!n)
                return n.error();
            freed += *n;
        }
    }
    return freed;
}

Result<uint64_t> UtxoPool::add(std::string_view txid, uint32_t vout, uint64_t satoshis, std::string_view key_id,
                               std::string_view script_hex, std::string_view status)
{
    if (!is_hex_of(txid, 64, 64) || !is_hex_of(key_id, 66, 66) || !is_hex_of(script_hex, 2, 1024) ||
        satoshis == 0 || satoshis > kMaxMoney || (status != "available" && status != "unconfirmed"))
        return Errc::invalid_argument;
    const std::string t = lower(txid), k = lower(key_id), s = lower(script_hex);
    auto n = db_.execute("INSERT INTO utxos (txid, vout, satoshis, key_id, script_hex, status) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         {std::string_view(t), int64_t{vout}, i64(satoshis), std::string_view(k), std::string_view(s),
                          status});
    if (!n)
        return n.error();  // a duplicate outpoint is Errc::conflict from Db
    return db_.last_insert_id();
}

Result<uint64_t> UtxoPool::mark_others_spent(uint64_t keep_id)
{
    auto keep = db_.query("SELECT id FROM utxos WHERE id = ?", {i64(keep_id)});
    if (!keep)
        return keep.error();
    if (keep->empty())
        return Errc::not_found;
    uint64_t done = 0;
    for (int round = 0; round < kMaxRounds; ++round) {
        auto rows = db_.query("SELECT id, version FROM utxos WHERE id <> ? AND status IN ('available', 'unconfirmed') "
                              "ORDER BY id LIMIT ?",
                              {i64(keep_id), kBatch});
        if (!rows)
            return rows.error();
        if (rows->empty())
            return done;
        for (const Row &r : *rows) {
            uint64_t id = 0, version = 0;
            if (r.size() != 2 || !two_u64(r, &id, &version))
                return Errc::internal;
            auto n = db_.execute("UPDATE utxos SET status = 'spent', version = version + 1 "
                                 "WHERE id = ? AND version = ? AND status IN ('available', 'unconfirmed')",
                                 {i64(id), i64(version)});
            if (!n)
                return n.error();
            done += *n;
        }
    }
    return Errc::conflict;
}

Result<PoolStats> UtxoPool::stats()
{
    auto rows = db_.query("SELECT status, COUNT(*), COALESCE(SUM(satoshis), 0) FROM utxos GROUP BY status");
    if (!rows)
        return rows.error();
    PoolStats out;  // every bucket present, zero when empty
    for (const Row &r : *rows) {
        PoolBucket b;
        auto count = col_int<uint64_t>(r, 1);
        auto sum = col_int<uint64_t>(r, 2);
        if (r.size() != 3 || !r[0] || !count || !sum)
            return Errc::internal;
        b.count = *count;
        b.total_satoshis = *sum;
        if (*r[0] == "unconfirmed")
            out.unconfirmed = b;
        else if (*r[0] == "available")
            out.available = b;
        else if (*r[0] == "locked")
            out.locked = b;
        else if (*r[0] == "spent")
            out.spent = b;
        else if (*r[0] == "quarantined")
            out.quarantined = b;
    }
    return out;
}

}  // namespace pp::store

// SPDX-License-Identifier: MIT
#include "store/batches.h"

#include <string>

#include "store/jobs.h"
#include "store/row.h"

namespace pp::store {

namespace {

int64_t i64(uint64_t v) noexcept { return static_cast<int64_t>(v); }

// The pending batch of an anchor job, locked for the caller's transaction.
Result<std::optional<uint64_t>> pending_batch(Db &db, uint64_t job_id)
{
    auto rows = db.query("SELECT id FROM anchor_batches WHERE job_id = ? AND status = 'pending' FOR UPDATE",
                         {i64(job_id)});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<uint64_t>();
    auto id = col_int<uint64_t>((*rows)[0], 0);
    if (!id)
        return id.error();
    return std::optional<uint64_t>(*id);
}

// Every column present and not NULL.
bool complete(const Row &r, size_t n)
{
    if (r.size() != n)
        return false;
    for (const auto &c : r)
        if (!c)
            return false;
    return true;
}

}  // namespace

Result<std::vector<UnbatchedRecord>> oldest_unbatched(Db &db, uint32_t limit)
{
    auto rows = db.query("SELECT txid, record_hash, confirmed_ms FROM records WHERE batch_id IS NULL "
                         "ORDER BY confirmed_ms, txid LIMIT ?",
                         {static_cast<int64_t>(limit)});
    if (!rows)
        return rows.error();
    std::vector<UnbatchedRecord> out;
    out.reserve(rows->size());
    for (const Row &r : *rows) {
        if (!complete(r, 3))
            return Errc::internal;
        auto ms = col_int<int64_t>(r, 2);
        if (!ms)
            return ms.error();
        out.push_back({*r[0], *r[1], *ms});
    }
    return out;
}

Result<WrittenBatch> write_batch(Db &db, const NewBatch &batch)
{
    if (batch.leaves.empty())
        return Errc::invalid_argument;
    auto n = db.execute("INSERT INTO anchor_batches (merkle_root, leaf_count) VALUES (?, ?)",
                        {batch.merkle_root, static_cast<int64_t>(batch.leaves.size())});
    if (!n)
        return n.error();
    auto id = db.last_insert_id();
    if (!id)
        return id.error();
    WrittenBatch out;
    out.batch_id = *id;
    for (size_t i = 0; i < batch.leaves.size(); ++i) {
        const BatchLeaf &leaf = batch.leaves[i];
        // The guard: a record another run put in a batch matches nothing.
        auto set = db.execute("UPDATE records SET batch_id = ?, batch_index = ?, merkle_path = ? "
                              "WHERE txid = ? AND batch_id IS NULL",
                              {i64(out.batch_id), static_cast<int64_t>(i), leaf.path_json, leaf.txid});
        if (!set)
            return set.error();
        if (*set != 1)
            return Errc::conflict;
        ++out.updated;
    }
    const std::string payload = "{\"batchId\":" + std::to_string(out.batch_id) + ",\"merkleRoot\":\"" +
                                batch.merkle_root + "\"}";
    auto job = insert_job(db, JobKind::anchor, payload);
    if (!job)
        return job.error();
    out.job_id = *job;
    auto linked = db.execute("UPDATE anchor_batches SET job_id = ?, version = version + 1 WHERE id = ?",
                             {i64(out.job_id), i64(out.batch_id)});
    if (!linked)
        return linked.error();
    if (*linked != 1)
        return Errc::internal;
    return out;
}

Result<bool> batch_anchored(Db &db, uint64_t job_id, std::string_view txid)
{
    auto batch = pending_batch(db, job_id);
    if (!batch)
        return batch.error();
    if (!*batch)
        return false;
    auto n = db.execute("UPDATE anchor_batches SET status = 'anchored', txid = ?, version = version + 1 "
                        "WHERE id = ? AND status = 'pending'",
                        {txid, i64(**batch)});
    if (!n)
        return n.error();
    return *n == 1;
}

Result<bool> batch_failed(Db &db, uint64_t job_id)
{
    auto batch = pending_batch(db, job_id);
    if (!batch)
        return batch.error();
    if (!*batch)
        return false;
    auto n = db.execute("UPDATE anchor_batches SET status = 'failed', version = version + 1 "
                        "WHERE id = ? AND status = 'pending'",
                        {i64(**batch)});
    if (!n)
        return n.error();
    if (*n != 1)
        return false;
    auto freed = db.execute("UPDATE records SET batch_id = NULL, batch_index = NULL, merkle_path = NULL "
                            "WHERE batch_id = ?",
                            {i64(**batch)});
    if (!freed)
        return freed.error();
    return true;
}

Result<std::optional<RecordProof>> find_proof(Db &db, std::string_view record_hash)
{
    // Record hashes are unique in practice; should two records share one,
    // the oldest anchored answers (either proof is a valid proof of it).
    auto rows = db.query("SELECT r.record_hash, b.merkle_root, r.merkle_path, b.txid FROM records r "
                         "JOIN anchor_batches b ON b.id = r.batch_id "
                         "WHERE r.record_hash = ? AND b.status = 'anchored' AND r.merkle_path IS NOT NULL "
                         "ORDER BY b.id LIMIT 1",
                         {record_hash});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<RecordProof>();
    const Row &r = (*rows)[0];
    if (!complete(r, 4))
        return Errc::internal;
    return std::optional<RecordProof>(RecordProof{*r[0], *r[1], *r[2], *r[3]});
}

Result<std::optional<RecordAnchor>> anchor_of_record(Db &db, std::string_view txid)
{
    auto rows = db.query("SELECT b.merkle_root, b.txid FROM records r JOIN anchor_batches b ON b.id = r.batch_id "
                         "WHERE r.txid = ? AND b.status = 'anchored'",
                         {txid});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<RecordAnchor>();
    const Row &r = (*rows)[0];
    if (!complete(r, 2))
        return Errc::internal;
    return std::optional<RecordAnchor>(RecordAnchor{*r[0], *r[1]});
}

}  // namespace pp::store

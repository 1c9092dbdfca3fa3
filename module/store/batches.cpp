// SPDX-License-Identifier: MIT
#include "store/batches.h"

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

}  // namespace

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

}  // namespace pp::store

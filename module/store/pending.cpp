// SPDX-License-Identifier: MIT
#include "store/pending.h"

#include <sodium.h>

#include "crypto/encoding.h"

namespace pp::store {

std::string random_id()
{
    uint8_t raw[16];
    randombytes_buf(raw, sizeof raw);
    return crypto::hex_encode(raw);
}

Result<uint64_t> enqueue(Db &db, const NewPending &p)
{
    const Param prev = p.prev_txid ? Param(std::string_view(*p.prev_txid)) : Param(nullptr);
    const Param claim = p.claim_intent_id ? Param(std::string_view(*p.claim_intent_id)) : Param(nullptr);
    auto ins = db.execute(
        "INSERT INTO pending_records (id, kind, uid_tag_id, record, prev_txid, claim_intent_id) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        {p.id, p.kind, p.uid_tag_id, p.record, prev, claim});
    if (!ins)
        return ins.error();
    auto job = db.execute("INSERT INTO jobs (pending_id) VALUES (?)", {p.id});
    if (!job)
        return job.error();
    return db.last_insert_id();
}

Result<PendingView> find_pending(Db &db, std::string_view id, std::string_view kind)
{
    auto rows = db.query(
        "SELECT id, kind, uid_tag_id, status, txid, error, "
        "DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), DATE_FORMAT(updated_at, '%Y-%m-%dT%H:%i:%s.%fZ') "
        "FROM pending_records WHERE id = ? AND kind = ?",
        {id, kind});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return Errc::not_found;
    const Row &r = (*rows)[0];
    PendingView v;
    v.id = r[0].value_or("");
    v.kind = r[1].value_or("");
    v.uid_tag_id = r[2].value_or("");
    v.status = r[3].value_or("");
    v.txid = r[4];
    v.error = r[5];
    // %f gives microseconds; keep milliseconds like JavaScript's toISOString.
    auto trim_ms = [](std::string s) {
        if (s.size() == 27)
            s.erase(23, 3);
        return s;
    };
    v.created_at = trim_ms(r[6].value_or(""));
    v.updated_at = trim_ms(r[7].value_or(""));
    return v;
}

}  // namespace pp::store

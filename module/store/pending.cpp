// SPDX-License-Identifier: MIT
#include "store/pending.h"

#include <sodium.h>

#include "crypto/encoding.h"

namespace pp::store {

namespace {

Param opt_param(const std::optional<std::string> &s)
{
    return s ? Param(std::string_view(*s)) : Param(nullptr);
}

// %f gives microseconds; keep milliseconds like JavaScript's toISOString.
std::string trim_ms(std::string s)
{
    if (s.size() == 27)
        s.erase(23, 3);
    return s;
}

}  // namespace

std::string random_id()
{
    uint8_t raw[16];
    randombytes_buf(raw, sizeof raw);
    return crypto::hex_encode(raw);
}

Result<uint64_t> enqueue(Db &db, const NewPending &p)
{
    auto ins = db.execute(
        "INSERT INTO pending_records (id, kind, uid_tag_id, record, prev_txid, claim_intent_id) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        {p.id, p.kind, p.uid_tag_id, p.record, opt_param(p.prev_txid), opt_param(p.claim_intent_id)});
    if (!ins)
        return ins.error();
    auto job = db.execute("INSERT INTO jobs (pending_id) VALUES (?)", {p.id});
    if (!job)
        return job.error();
    return db.last_insert_id();
}

Result<PendingView> find_pending(Db &db, std::string_view id, PendingKind kind)
{
    auto rows = db.query(
        "SELECT id, kind, uid_tag_id, status, txid, error, "
        "DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), DATE_FORMAT(updated_at, '%Y-%m-%dT%H:%i:%s.%fZ') "
        "FROM pending_records WHERE id = ? AND kind = ?",
        {id, to_text(kind)});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return Errc::not_found;
    const Row &r = (*rows)[0];
    auto k = col_enum<PendingKind>(r, 1);
    auto status = col_enum<PendingStatus>(r, 3);
    if (!k || !status)
        return Errc::internal;
    PendingView v;
    v.id = r[0].value_or("");
    v.kind = *k;
    v.uid_tag_id = r[2].value_or("");
    v.status = *status;
    v.txid = r[4];
    v.error = r[5];
    v.created_at = trim_ms(r[6].value_or(""));
    v.updated_at = trim_ms(r[7].value_or(""));
    return v;
}

Result<PendingView> find_pending(Db &db, std::string_view id, std::string_view kind)
{
    auto k = from_text<PendingKind>(kind);
    if (!k)
        return Errc::not_found;
    return find_pending(db, id, *k);
}

Result<bool> registration_pending(Db &db, std::string_view uid)
{
    auto rows = db.query("SELECT 1 FROM pending_records WHERE reg_lock = ?", {uid});
    if (!rows)
        return rows.error();
    return !rows->empty();
}

Result<bool> set_pending_status(Db &db, std::string_view id, PendingStatus to,
                                std::initializer_list<PendingStatus> from, const std::optional<std::string> &txid,
                                const std::optional<std::string> &error)
{
    // A fixed statement (one prepared text): the list is padded with its
    // first element to the four states there are.
    if (from.size() == 0 || from.size() > 4)
        return Errc::invalid_argument;
    std::array<std::string_view, 4> in{};
    size_t i = 0;
    for (PendingStatus s : from)
        in[i++] = to_text(s);
    for (; i < in.size(); ++i)
        in[i] = in[0];
    auto n = db.execute("UPDATE pending_records SET status = ?, txid = ?, error = ? "
                        "WHERE id = ? AND status IN (?, ?, ?, ?)",
                        {to_text(to), opt_param(txid), opt_param(error), id, in[0], in[1], in[2], in[3]});
    if (!n)
        return n.error();
    return *n > 0;
}

}  // namespace pp::store

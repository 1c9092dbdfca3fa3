// SPDX-License-Identifier: MIT
#include "store/patches.h"

#include "store/row.h"

namespace pp::store {

namespace {

constexpr std::string_view kStateColumns =
    "SELECT uid_tag_id, current_txid, current_record, record_hash, owner_address, pending_transfer_id, version "
    "FROM patch_state WHERE uid_tag_id = ?";

Result<std::optional<PatchState>> to_state(Result<std::vector<Row>> rows)
{
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<PatchState>();
    const Row &r = (*rows)[0];
    auto version = col_int<int64_t>(r, 6);
    if (!version)
        return Errc::internal;
    PatchState s;
    s.uid_tag_id = r[0].value_or("");
    s.current_txid = r[1].value_or("");
    s.current_record = r[2].value_or("");
    s.record_hash = r[3].value_or("");
    s.owner_address = r[4].value_or("");
    s.pending_transfer_id = r[5];
    s.version = *version;
    return std::optional<PatchState>(std::move(s));
}

constexpr std::string_view kRecordColumns =
    "SELECT txid, uid_tag_id, kind, record, record_hash, confirmed_ms FROM records ";

Result<RecordRow> to_record(const Row &r)
{
    auto kind = col_enum<PendingKind>(r, 2);
    auto ms = col_int<int64_t>(r, 5);
    if (!kind || !ms || !r[0] || !r[1] || !r[3] || !r[4])
        return Errc::internal;
    return RecordRow{*r[0], *r[1], *kind, *r[3], *r[4], *ms};
}

Result<void> one_row(Result<uint64_t> n)
{
    if (!n)
        return n.error();
    if (*n == 0)
        return Errc::conflict;
    return {};
}

}  // namespace

Result<std::optional<PatchState>> load_patch_state(Db &db, std::string_view uid)
{
    return to_state(db.query(kStateColumns, {uid}));
}

Result<std::optional<PatchState>> lock_patch_state(Db &db, std::string_view uid)
{
    return to_state(db.query(std::string(kStateColumns) + " FOR UPDATE", {uid}));
}

Result<bool> patch_registered_locked(Db &db, std::string_view uid)
{
    auto rows = db.query("SELECT 1 FROM patch_state WHERE uid_tag_id = ? LOCK IN SHARE MODE", {uid});
    if (!rows)
        return rows.error();
    return !rows->empty();
}

Result<std::optional<std::string>> uid_of_record(Db &db, std::string_view txid)
{
    auto rows = db.query("SELECT uid_tag_id FROM records WHERE txid = ?", {txid});
    if (!rows)
        return rows.error();
    if (rows->empty() || !(*rows)[0][0])
        return std::optional<std::string>();
    return std::optional<std::string>(*(*rows)[0][0]);
}

Result<void> lock_for_transfer(Db &db, const PatchState &s, std::string_view pending_id)
{
    return one_row(db.execute(
        "UPDATE patch_state SET pending_transfer_id = ?, version = version + 1 "
        "WHERE uid_tag_id = ? AND current_txid = ? AND pending_transfer_id IS NULL AND version = ?",
        {pending_id, s.uid_tag_id, s.current_txid, s.version}));
}

Result<bool> clear_pending_transfer(Db &db, std::string_view uid, std::string_view pending_id)
{
    auto rows = db.query("SELECT version FROM patch_state WHERE uid_tag_id = ? AND pending_transfer_id = ? FOR UPDATE",
                         {uid, pending_id});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return false;
    auto version = col_int<int64_t>((*rows)[0], 0);
    if (!version)
        return Errc::internal;
    auto n = one_row(db.execute(
        "UPDATE patch_state SET pending_transfer_id = NULL, version = version + 1 WHERE uid_tag_id = ? AND version = ?",
        {uid, *version}));
    if (!n)
        return n.error();
    return true;
}

Result<void> insert_patch_state(Db &db, std::string_view uid, std::string_view txid, std::string_view record,
                                std::string_view record_hash, std::string_view owner)
{
    auto n = db.execute(
        "INSERT INTO patch_state (uid_tag_id, current_txid, current_record, record_hash, owner_address) "
        "VALUES (?, ?, ?, ?, ?)",
        {uid, txid, record, record_hash, owner});
    if (!n)
        return n.error();
    return {};
}

Result<void> replace_patch_state(Db &db, const PatchState &from, std::string_view txid, std::string_view record,
                                 std::string_view record_hash, std::string_view owner)
{
    return one_row(db.execute(
        "UPDATE patch_state SET current_txid = ?, current_record = ?, record_hash = ?, owner_address = ?, "
        "pending_transfer_id = NULL, version = version + 1 WHERE uid_tag_id = ? AND version = ?",
        {txid, record, record_hash, owner, from.uid_tag_id, from.version}));
}

Result<void> insert_record(Db &db, const RecordRow &r)
{
    auto n = db.execute(
        "INSERT INTO records (txid, uid_tag_id, kind, record, record_hash, confirmed_ms) VALUES (?, ?, ?, ?, ?, ?)",
        {r.txid, r.uid_tag_id, to_text(r.kind), r.record, r.record_hash, r.confirmed_ms});
    if (!n)
        return n.error();
    return {};
}

Result<std::optional<RecordRow>> find_record(Db &db, std::string_view txid)
{
    auto rows = db.query(std::string(kRecordColumns) + "WHERE txid = ?", {txid});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<RecordRow>();
    auto r = to_record((*rows)[0]);
    if (!r)
        return r.error();
    return std::optional<RecordRow>(std::move(*r));
}

Result<std::vector<RecordRow>> patch_history(Db &db, std::string_view uid)
{
    auto rows = db.query(std::string(kRecordColumns) + "WHERE uid_tag_id = ? ORDER BY confirmed_ms, txid", {uid});
    if (!rows)
        return rows.error();
    std::vector<RecordRow> out;
    out.reserve(rows->size());
    for (const Row &r : *rows) {
        auto rec = to_record(r);
        if (!rec)
            return rec.error();
        out.push_back(std::move(*rec));
    }
    return out;
}

}  // namespace pp::store

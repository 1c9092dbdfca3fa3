// SPDX-License-Identifier: MIT
#include "store/claims.h"

#include "store/row.h"

namespace pp::store {

namespace {

Result<bool> changed(Result<uint64_t> n)
{
    if (!n)
        return n.error();
    return *n > 0;
}

}  // namespace

Result<void> insert_claim(Db &db, const NewClaim &c)
{
    auto n = db.execute(
        "INSERT INTO claim_intents (id, uid_tag_id, customer_address, customer_user_id, customer_pubkey, nonce, "
        "challenge_ts, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {c.id, c.uid_tag_id, c.customer_address, c.customer_user_id, c.customer_pubkey, c.nonce, c.challenge_ts,
         c.expires_ms});
    if (!n)
        return n.error();
    return {};
}

Result<std::optional<Claim>> find_claim(Db &db, std::string_view id)
{
    auto rows = db.query(
        "SELECT id, uid_tag_id, customer_address, status, approved_by, pending_id, txid, error, expires_ms, version "
        "FROM claim_intents WHERE id = ?",
        {id});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<Claim>();
    const Row &r = (*rows)[0];
    auto status = col_enum<ClaimStatus>(r, 3);
    auto expires = col_int<int64_t>(r, 8);
    auto version = col_int<int64_t>(r, 9);
    if (!status || !expires || !version || !r[0] || !r[1])
        return Errc::internal;
    Claim c;
    c.id = *r[0];
    c.uid_tag_id = *r[1];
    c.customer_address = r[2];
    c.status = *status;
    c.approved_by = r[4];
    c.pending_id = r[5];
    c.txid = r[6];
    c.error = r[7];
    c.expires_ms = *expires;
    c.version = *version;
    return std::optional<Claim>(std::move(c));
}

Result<bool> expire_claim(Db &db, std::string_view id, int64_t version)
{
    return changed(db.execute("UPDATE claim_intents SET status = ?, version = version + 1 "
                              "WHERE id = ? AND version = ? AND status = ?",
                              {to_text(ClaimStatus::expired), id, version, to_text(ClaimStatus::pending)}));
}

Result<bool> approve_claim(Db &db, std::string_view id, int64_t version, std::string_view approved_by,
                           std::string_view pending_id)
{
    return changed(db.execute(
        "UPDATE claim_intents SET status = ?, approved_by = ?, pending_id = ?, version = version + 1 "
        "WHERE id = ? AND version = ? AND status = ?",
        {to_text(ClaimStatus::approved), approved_by, pending_id, id, version, to_text(ClaimStatus::pending)}));
}

Result<bool> confirm_claim(Db &db, std::string_view id, std::string_view txid)
{
    return changed(db.execute("UPDATE claim_intents SET status = ?, txid = ?, error = NULL, version = version + 1 "
                              "WHERE id = ?",
                              {to_text(ClaimStatus::confirmed), txid, id}));
}

Result<bool> fail_claim(Db &db, std::string_view id, std::string_view reason)
{
    return changed(db.execute("UPDATE claim_intents SET status = ?, error = ?, version = version + 1 "
                              "WHERE id = ? AND status IN (?, ?)",
                              {to_text(ClaimStatus::failed), reason, id, to_text(ClaimStatus::pending),
                               to_text(ClaimStatus::approved)}));
}

}  // namespace pp::store

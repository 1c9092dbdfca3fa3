// SPDX-License-Identifier: MIT
#include "store/privacy.h"

#include "store/row.h"

namespace pp::store {

namespace {

constexpr std::string_view kEmailPrefix = "email:";

// DATETIME(3) columns as ISO 8601 with milliseconds (%f gives microseconds;
// the connection's time zone is UTC, see store/db.cpp).
#define PP_ISO(col) "CONCAT(LEFT(DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%s.%f'), 23), 'Z')"

Result<std::optional<SvdRegistrationData>> read_svd(Db &db, std::string_view subject)
{
    auto rows = db.query("SELECT pmc_hex, key_id, " PP_ISO("created_at") ", " PP_ISO("updated_at")
                         " FROM svd_registrations WHERE user_id = ?",
                         {subject});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<SvdRegistrationData>();
    const Row &r = (*rows)[0];
    if (!r[0] || !r[2] || !r[3])
        return Errc::internal;
    return std::optional<SvdRegistrationData>(SvdRegistrationData{*r[0], r[1], *r[2], *r[3]});
}

Result<std::optional<EmailIdentityData>> read_email(Db &db, std::string_view identifier)
{
    auto rows = db.query("SELECT identifier, " PP_ISO("created_at") ", " PP_ISO("last_login_at")
                         " FROM email_identities WHERE identifier = ?",
                         {identifier});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<EmailIdentityData>();
    const Row &r = (*rows)[0];
    if (!r[0] || !r[1])
        return Errc::internal;
    // CONCAT of a NULL last_login_at is NULL: never logged in stays null.
    return std::optional<EmailIdentityData>(EmailIdentityData{*r[0], *r[1], r[2]});
}

Result<std::vector<ClaimIntentData>> read_claims(Db &db, std::string_view subject)
{
    auto rows = db.query("SELECT id, uid_tag_id, status, nonce, customer_user_id, customer_address, "
                         "customer_pubkey, approved_by, pending_id, txid, error, challenge_ts, expires_ms, "
                         PP_ISO("created_at") ", " PP_ISO("updated_at")
                         " FROM claim_intents WHERE customer_user_id = ? ORDER BY created_at, id",
                         {subject});
    if (!rows)
        return rows.error();
    std::vector<ClaimIntentData> out;
    out.reserve(rows->size());
    for (const Row &r : *rows) {
        auto ts = col_int<int64_t>(r, 11);
        auto expires = col_int<int64_t>(r, 12);
        if (!ts || !expires || !r[0] || !r[1] || !r[2] || !r[3] || !r[13] || !r[14])
            return Errc::internal;
        ClaimIntentData c;
        c.id = *r[0];
        c.uid_tag_id = *r[1];
        c.status = *r[2];
        c.nonce = *r[3];
        c.customer_user_id = r[4];
        c.customer_address = r[5];
        c.customer_pubkey = r[6];
        c.approved_by = r[7];
        c.pending_id = r[8];
        c.txid = r[9];
        c.error = r[10];
        c.challenge_ts = *ts;
        c.expires_ms = *expires;
        c.created_at = *r[13];
        c.updated_at = *r[14];
        out.push_back(std::move(c));
    }
    return out;
}

#undef PP_ISO

Result<int64_t> move_not_before(Db &db, std::string_view subject, int64_t now_sec)
{
    auto n = db.execute("INSERT INTO subject_not_before (user_id, not_before) VALUES (?, ?) "
                        "ON DUPLICATE KEY UPDATE not_before = GREATEST(not_before, VALUES(not_before))",
                        {subject, now_sec});
    if (!n)
        return n.error();
    auto rows = db.query("SELECT not_before FROM subject_not_before WHERE user_id = ?", {subject});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return Errc::internal;
    auto v = col_int<int64_t>((*rows)[0], 0);
    if (!v)
        return Errc::internal;
    return *v;
}

}  // namespace

std::optional<std::string_view> email_of_subject(std::string_view subject) noexcept
{
    if (subject.size() <= kEmailPrefix.size() || subject.substr(0, kEmailPrefix.size()) != kEmailPrefix)
        return std::nullopt;
    return subject.substr(kEmailPrefix.size());
}

Result<SubjectData> export_subject(Db &db, std::string_view subject)
{
    SubjectData out;
    auto svd = read_svd(db, subject);
    if (!svd)
        return svd.error();
    out.svd = std::move(*svd);
    if (auto address = email_of_subject(subject)) {
        auto email = read_email(db, *address);
        if (!email)
            return email.error();
        out.email = std::move(*email);
    }
    auto claims = read_claims(db, subject);
    if (!claims)
        return claims.error();
    out.claim_intents = std::move(*claims);
    return out;
}

Result<SubjectRemoval> delete_subject(Db &db, std::string_view subject, int64_t now_sec)
{
    SubjectRemoval out;
    auto svd = db.execute("DELETE FROM svd_registrations WHERE user_id = ?", {subject});
    if (!svd)
        return svd.error();
    out.svd_registration = *svd > 0;
    // version+1: an approval that read the intent before this loses its
    // version guard (pos/routes.cpp) instead of approving a nameless intent.
    auto claims = db.execute("UPDATE claim_intents SET customer_user_id = NULL, customer_address = NULL, "
                             "customer_pubkey = NULL, version = version + 1 WHERE customer_user_id = ?",
                             {subject});
    if (!claims)
        return claims.error();
    out.claim_intents_anonymised = *claims;
    if (auto address = email_of_subject(subject)) {
        auto identity = db.execute("DELETE FROM email_identities WHERE identifier = ?", {*address});
        if (!identity)
            return identity.error();
        out.email_identity = *identity > 0;
        auto codes = db.execute("DELETE FROM email_codes WHERE identifier = ?", {*address});
        if (!codes)
            return codes.error();
        out.email_codes = *codes;
        auto outbox = db.execute("DELETE FROM email_outbox WHERE identifier = ?", {*address});
        if (!outbox)
            return outbox.error();
        out.email_outbox = *outbox;
    }
    auto nb = move_not_before(db, subject, now_sec);
    if (!nb)
        return nb.error();
    out.not_before = *nb;
    return out;
}

}  // namespace pp::store

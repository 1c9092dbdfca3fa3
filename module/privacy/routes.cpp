// SPDX-License-Identifier: MIT
#include "privacy/routes.h"

#include <ctime>
#include <cstdio>

#include "common/json.h"
#include "log/log.h"
#include "store/privacy.h"
#include "store/txn.h"

namespace pp::privacy {
namespace {

using app::AppContext;
using http::PathParams;
using http::Request;
using http::Response;

Response no_store(Response r)
{
    r.add_header("Cache-Control", "no-store");
    return r;
}

Response unavailable() { return no_store(http::unavailable("Database")); }

// Unix milliseconds as ISO 8601 UTC, like the stored timestamps.
std::string iso_ms(int64_t ms)
{
    const time_t sec = static_cast<time_t>(ms / 1000);
    tm utc{};
    gmtime_r(&sec, &utc);
    char buf[40];
    const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
    return buf;
}

json_t *str(const std::string &s) { return json_stringn(s.data(), s.size()); }

json_t *svd_json(const std::optional<store::SvdRegistrationData> &svd)
{
    if (!svd)
        return json_null();
    return json_pack("{s:o,s:o,s:o,s:o}", "pmcHex", str(svd->pmc_hex), "keyId", json_string_or_null(svd->key_id),
                     "created_at", str(svd->created_at), "updated_at", str(svd->updated_at));
}

json_t *email_json(const std::optional<store::EmailIdentityData> &email)
{
    if (!email)
        return json_null();
    return json_pack("{s:o,s:o,s:o}", "identifier", str(email->identifier), "created_at", str(email->created_at),
                     "lastLoginAt", json_string_or_null(email->last_login_at));
}

// One intent as the subject sees it: the POS routes' names, the customer
// and challenge as they were posted, and the status claim-status would
// answer (a pending intent past its time reads as expired).
json_t *claim_json(const store::ClaimIntentData &c, int64_t now_ms)
{
    const std::string status = c.status == "pending" && now_ms > c.expires_ms ? "expired" : c.status;
    json_t *customer = json_pack("{s:o,s:o,s:o}", "userId", json_string_or_null(c.customer_user_id), "address",
                                 json_string_or_null(c.customer_address), "pubKey",
                                 json_string_or_null(c.customer_pubkey));
    json_t *challenge = json_pack("{s:I,s:o}", "ts", json_int_t(c.challenge_ts), "nonce", str(c.nonce));
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:o,s:o}", "id", str(c.id), "uid",
                     str(c.uid_tag_id), "status", str(status), "customer", customer, "challenge", challenge,
                     "approvedBy", json_string_or_null(c.approved_by), "pendingId",
                     json_string_or_null(c.pending_id), "txid", json_string_or_null(c.txid), "error",
                     json_string_or_null(c.error), "expiresMs", json_int_t(c.expires_ms), "created_at",
                     str(c.created_at), "updated_at", str(c.updated_at));
}

Response export_data(AppContext &ctx, const Request &req, const PathParams &)
{
    // Auth::jwt: the pipeline verified the token (and its not-before).
    store::Db *db = ctx.db();
    if (!db)
        return unavailable();
    // One snapshot, so the parts agree with each other.
    auto data = store::with_txn(*db, [&](store::Txn &txn) { return store::export_subject(txn.db(), req.subject); });
    if (!data)
        return unavailable();
    const int64_t now = app::now_ms();
    JsonPtr claims(json_array());
    for (const auto &c : data->claim_intents)
        json_array_append_new(claims.get(), claim_json(c, now));
    return no_store(http::json(200, json_pack("{s:o,s:o,s:o,s:o,s:o}", "subject", str(req.subject), "svd",
                                              svd_json(data->svd), "email", email_json(data->email),
                                              "claimIntents", claims.release(), "exportedAt",
                                              str(iso_ms(now)))));
}

Response delete_data(AppContext &ctx, const Request &req, const PathParams &)
{
    store::Db *db = ctx.db();
    if (!db)
        return unavailable();
    // The second is read on every run, so a re-run after a deadlock still
    // cuts off every token issued before it commits.
    auto removed = store::with_txn(*db, [&](store::Txn &txn) {
        return store::delete_subject(txn.db(), req.subject, app::now_sec());
    });
    if (!removed)
        return unavailable();
    const store::SubjectRemoval &r = *removed;
    // Counts only: the subject itself is what was just erased.
    JsonPtr f(json_pack("{s:s,s:b,s:I,s:b,s:I,s:I}", "request_id", req.request_id.c_str(), "svd_registration",
                        r.svd_registration, "claim_intents_anonymised", json_int_t(r.claim_intents_anonymised),
                        "email_identity", r.email_identity, "email_codes", json_int_t(r.email_codes),
                        "email_outbox", json_int_t(r.email_outbox)));
    log::info("privacy delete", f.get());
    json_t *what = json_pack("{s:b,s:I,s:b,s:I,s:I}", "svdRegistration", r.svd_registration,
                             "claimIntentsAnonymised", json_int_t(r.claim_intents_anonymised), "emailIdentity",
                             r.email_identity, "emailCodes", json_int_t(r.email_codes), "emailOutbox",
                             json_int_t(r.email_outbox));
    return no_store(http::json(200, json_pack("{s:b,s:o,s:o,s:I}", "success", 1, "subject", str(req.subject),
                                              "removed", what, "notBefore", json_int_t(r.not_before))));
}

}  // namespace

void add_routes(app::AppRouter &router)
{
    using http::Auth;
    // No body (limit 0: one sent is a 413) and not in the per-IP public
    // limit: every call carries a verified token.
    router.add("GET", "/v1/privacy/export", export_data, Auth::jwt, 0, false);
    router.add("DELETE", "/v1/privacy/delete", delete_data, Auth::jwt, 0, false);
}

}  // namespace pp::privacy

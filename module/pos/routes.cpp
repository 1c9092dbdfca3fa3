// SPDX-License-Identifier: MIT
#include "pos/routes.h"

#include "common/json.h"
#include "crypto/base58.h"
#include "http/body.h"
#include "log/log.h"
#include "registry/records.h"
#include "store/claims.h"
#include "store/patches.h"
#include "store/pending.h"
#include "store/txn.h"

namespace pp::pos {
namespace {

using app::AppContext;
using http::PathParams;
using http::Request;
using http::Response;

constexpr size_t kBodyLimit = 1024 * 1024;

Response unavailable() { return http::error(503, http::code::unavailable, "Database unavailable."); }
Response conflict(std::string_view msg) { return http::error(409, http::code::conflict, msg); }
Response not_found() { return http::error(404, http::code::not_found, "No such claim intent."); }

Response bad_id()
{
    return http::validation_error(
        json_pack("[{s:s,s:s}]", "field", "id", "issue", "must be 32 hex characters"), "Invalid claim intent id.");
}

// Moves a pending intent whose time ran out to expired; a lost race is
// harmless (someone else changed it first), so the result is not needed.
void mark_expired(store::Db &db, std::string_view id, int64_t version)
{
    if (!store::expire_claim(db, id, version))
        log::warn("claim intent expiry not recorded");
}

// ---------------------------------------------------------------- intent

Response claim_intent(AppContext &ctx, const Request &req, const PathParams &)
{
    auto body = http::parse_json_body(req);
    if (body.error)
        return *body.error;
    const crypto::Network net = ctx.network();
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"uid", "customer", "challenge", "signature"});
    auto uid = v.string("uid", true);
    const json_t *customer = v.object("customer", true);
    const json_t *challenge = v.object("challenge", true);
    auto sig = v.string("signature", true);
    if (uid && !registry::valid_uid(*uid))
        v.problem("uid", "must match ^[A-Za-z0-9._:-]{3,128}$");
    if (sig && !registry::valid_signature_hex(*sig))
        v.problem("signature", "must be non-empty hex of even length, at most 146 characters");
    std::optional<std::string_view> address, user_id, pub, nonce;
    std::optional<long long> ts;
    if (customer) {
        http::Validator cv(customer, details.get(), "customer");
        cv.only({"address", "userId", "pubKey"});
        address = cv.string("address", true);
        user_id = cv.string("userId", true);
        pub = cv.string("pubKey", true);
        if (address && !crypto::parse_p2pkh_address(*address, net))
            cv.problem("address", "must be a P2PKH address of this network");
        if (user_id && !valid_user_id(*user_id))
            cv.problem("userId", "must match ^[A-Za-z0-9_-]{1,64}$");
        if (pub && !registry::address_of_pubkey(*pub, net))
            cv.problem("pubKey", "must be a 33-byte compressed secp256k1 public key in hex");
    }
    if (challenge) {
        http::Validator chv(challenge, details.get(), "challenge");
        chv.only({"ts", "nonce"});
        ts = chv.integer("ts", true);
        nonce = chv.string("nonce", true);
        if (nonce && !registry::valid_nonce(*nonce))
            chv.problem("nonce", "must be 6 to 128 visible ASCII characters");
    }
    if (!v.ok())
        return http::validation_error(details.release());

    const int64_t now = app::now_ms();
    // Written so that no subtraction can overflow on a hostile ts.
    const int64_t ttl = ctx.cfg.claim_intent_ttl_ms;
    if (*ts < now - ttl || *ts > now + ttl)
        return http::error(400, http::code::validation, "The challenge timestamp is outside the allowed window.");
    const std::string pub_s = ascii_lower(*pub);
    auto addr = registry::address_of_pubkey(pub_s, net);
    if (!addr || *addr != *address)
        return http::error(400, http::code::validation, "The address does not belong to the public key.");
    const std::string uid_s(*uid), address_s(*address);
    const std::string message = registry::pos_claim_message(uid_s, address_s, *ts, *nonce);
    if (!registry::verify_message_signature(message, pub_s, ascii_lower(*sig)))
        return http::error(401, http::code::unauthorized, "The signature is invalid.");

    store::Db *db = ctx.db();
    if (!db)
        return unavailable();
    auto state = store::load_patch_state(*db, uid_s);
    if (!state)
        return unavailable();
    if (!*state)
        return http::error(404, http::code::not_found, "No patch with this uid.");
    const std::string id = store::random_id();
    const store::NewClaim claim{id, uid_s, address_s, std::string(*user_id), pub_s, std::string(*nonce),
                                int64_t(*ts), now + ttl};
    auto ins = store::insert_claim(*db, claim);
    if (!ins)
        return ins.error() == Errc::conflict ? conflict("This nonce was already used.") : unavailable();
    JsonPtr f(json_pack("{s:s,s:s}", "claim_intent_id", id.c_str(), "uid_tag_id", uid_s.c_str()));
    log::info("claim intent created", f.get());
    return http::json(201, json_pack("{s:s,s:s}", "id", id.c_str(), "status", "pending"));
}

// ---------------------------------------------------------------- approve

// Both guards in one transaction: the intent must still be the pending row
// we read, and the patch state must still be unlocked at its version; then
// the pending transfer and its job. 200, or 409 for a lost guard.
Response queue_pos_transfer(store::Db &db, const store::Claim &intent, const store::PatchState &s,
                            const std::string &approver, const store::NewPending &p)
{
    const std::string &id = intent.id;
    const std::string &uid = intent.uid_tag_id;
    std::optional<Response> refused;
    auto job = store::with_txn(db, [&](store::Txn &txn) -> Result<uint64_t> {
        refused.reset();
        auto approved = store::approve_claim(txn.db(), id, intent.version, approver, p.id);
        if (!approved)
            return approved.error();
        if (!*approved) {
            refused = conflict("The claim intent is not pending.");
            return Errc::conflict;
        }
        if (auto locked = store::lock_for_transfer(txn.db(), s, p.id); !locked) {
            if (locked.error() == Errc::conflict)
                refused = conflict("A transfer of this patch is already pending.");
            return locked.error();
        }
        return store::enqueue(txn.db(), p);
    });
    if (!job)
        return refused ? std::move(*refused) : unavailable();
    JsonPtr f(json_pack("{s:s,s:s,s:s}", "claim_intent_id", id.c_str(), "uid_tag_id", uid.c_str(), "pending_id",
                        p.id.c_str()));
    log::info("claim intent approved", f.get());
    return http::json(200, json_pack("{s:s,s:s,s:s,s:I}", "id", id.c_str(), "status", "approved", "pendingId",
                                     p.id.c_str(), "jobId", json_int_t(*job)));
}

Response claim_approve(AppContext &ctx, const Request &req, const PathParams &)
{
    auto body = http::parse_json_body(req);
    if (body.error)
        return *body.error;
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"intentId", "approvedBy"});
    auto intent_id = v.string("intentId", true);
    auto approved_by = v.string("approvedBy", true);
    if (intent_id && !registry::valid_id32(*intent_id))
        v.problem("intentId", "must be 32 hex characters");
    if (approved_by && (approved_by->empty() || approved_by->size() > registry::kApprovedByMaxBytes))
        v.problem("approvedBy", "must be 1 to 128 bytes");
    if (!v.ok())
        return http::validation_error(details.release());
    const std::string id = ascii_lower(*intent_id), approver(*approved_by);

    store::Db *db = ctx.db();
    if (!db)
        return unavailable();
    auto found = store::find_claim(*db, id);
    if (!found)
        return unavailable();
    if (!*found)
        return not_found();
    const store::Claim &intent = **found;
    const std::string &uid = intent.uid_tag_id;
    if (intent.status != store::ClaimStatus::pending)
        return conflict("The claim intent is not pending.");
    if (app::now_ms() > intent.expires_ms) {
        mark_expired(*db, id, intent.version);
        return conflict("The claim intent has expired.");
    }
    if (!intent.customer_address)
        return conflict("The claim intent no longer names a customer.");

    auto state = store::load_patch_state(*db, uid);
    if (!state)
        return unavailable();
    if (!*state)
        return conflict("The patch has no confirmed state.");
    const store::PatchState &s = **state;
    if (s.pending_transfer_id)
        return conflict("A transfer of this patch is already pending.");

    json_error_t jerr;
    JsonPtr current(json_loadb(s.current_record.data(), s.current_record.size(), JSON_REJECT_DUPLICATES, &jerr));
    registry::PosTransfer t{*intent.customer_address, s.current_txid, approver, id, app::now_ms()};
    auto next = registry::pos_transfer_record(current.get(), t);
    if (!next)
        return http::error(500, http::code::internal, "Internal error.");
    auto encoded = registry::encode_record(next->get());
    if (!encoded)
        return http::error(500, http::code::internal, "Internal error.");

    store::NewPending p;
    p.id = store::random_id();
    p.kind = store::to_text(store::PendingKind::transfer);
    p.uid_tag_id = uid;
    p.record = encoded->on_chain;
    p.prev_txid = s.current_txid;
    p.claim_intent_id = id;
    return queue_pos_transfer(*db, intent, s, approver, p);
}

// ---------------------------------------------------------------- status

Response claim_status(AppContext &ctx, const Request &, const PathParams &params)
{
    const std::string_view raw = params.get("id");
    if (!registry::valid_id32(raw))
        return bad_id();
    const std::string id = ascii_lower(raw);
    store::Db *db = ctx.db();
    if (!db)
        return unavailable();
    auto found = store::find_claim(*db, id);
    if (!found)
        return unavailable();
    if (!*found)
        return not_found();
    const store::Claim &c = **found;
    store::ClaimStatus status = c.status;
    if (status == store::ClaimStatus::pending && app::now_ms() > c.expires_ms) {
        mark_expired(*db, id, c.version);
        status = store::ClaimStatus::expired;
    }
    const std::string status_text(store::to_text(status));
    return http::json(200, json_pack("{s:s,s:s,s:o,s:o,s:o}", "id", id.c_str(), "status", status_text.c_str(), "txid",
                                     json_string_or_null(c.txid), "error", json_string_or_null(c.error), "approvedBy",
                                     json_string_or_null(c.approved_by)));
}

}  // namespace

void add_routes(app::AppRouter &router)
{
    using http::Auth;
    router.add("POST", "/v1/pos/claim-intent", claim_intent, Auth::none, kBodyLimit, true);
    router.add("POST", "/v1/pos/claim-approve", claim_approve, Auth::api_key, kBodyLimit, true);
    router.add("GET", "/v1/pos/claim-status/{id}", claim_status, Auth::none, 0, true);
}

}  // namespace pp::pos

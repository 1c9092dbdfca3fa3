// SPDX-License-Identifier: MIT
#include "registry/routes.h"

#include <sodium.h>

#include <string>
#include <unordered_map>

#include "app/auth.h"
#include "common/json.h"
#include "crypto/base58.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/secp256k1.h"
#include "http/body.h"
#include "log/log.h"
#include "registry/records.h"
#include "store/batches.h"
#include "store/content.h"
#include "store/patches.h"
#include "store/pending.h"
#include "store/txn.h"

namespace pp::registry {
namespace {

using app::AppContext;
using http::PathParams;
using http::Request;
using http::Response;
using store::PatchState;
using store::load_patch_state;

constexpr size_t kBodyLimit = 1024 * 1024;

using http::unavailable;

Response internal() { return http::error(500, http::code::internal, "Internal error."); }

Response conflict(std::string_view msg) { return http::error(409, http::code::conflict, msg); }

void log_event(std::string_view msg, std::string_view uid, std::string_view pending_id)
{
    JsonPtr f(json_pack("{s:s%,s:s%}", "uid_tag_id", uid.data(), uid.size(), "pending_id", pending_id.data(),
                        pending_id.size()));
    log::info(msg, f.get());
}

// The {uid} path segment, percent-decoded and checked; nullopt → 400.
std::optional<std::string> uid_param(const PathParams &params)
{
    auto uid = percent_decode_segment(params.get("uid"));
    if (!uid || !valid_uid(*uid))
        return std::nullopt;
    return std::move(*uid);
}

Response bad_uid()
{
    return http::validation_error(json_pack("[{s:s,s:s}]", "field", "uid_tag_id", "issue",
                                            "must match ^[A-Za-z0-9._:-]{3,128}$"),
                                  "Invalid uid_tag_id.");
}

void optional_text(http::Validator &v, const char *name, size_t max_bytes)
{
    auto s = v.string(name, false);
    if (s && s->size() > max_bytes)
        v.problem(name, "too long");
}

// ---------------------------------------------------------------- register

// The issuer's signature over SHA256(c) from the KMS, checked before it is
// used: a KMS answer that does not verify would put a "compromised" record
// on chain. nullopt → 503.
std::optional<IssuerSignature> issuer_signature(AppContext &ctx, const std::string &c)
{
    const std::string key_id = ctx.issuer_key();
    kms::Client *kms = ctx.kms();
    if (key_id.empty() || !kms)
        return std::nullopt;
    const kms::SignRequest sreq{key_id, crypto::sha256(crypto::as_bytes(c))};
    auto signed_ = kms->sign(std::span<const kms::SignRequest>(&sreq, 1));
    if (!signed_ || signed_->size() != 1)
        return std::nullopt;
    IssuerSignature issuer{crypto::hex_encode((*signed_)[0].der), crypto::hex_encode((*signed_)[0].pubkey)};
    if (!verify_message_signature(c, issuer.pubkey_hex, issuer.signature_hex)) {
        log::error("issuer signature from the KMS does not verify");
        return std::nullopt;
    }
    return issuer;
}

// The pending registration and its job in one transaction; 202, or 409 when
// the uid got registered or a registration of it is pending meanwhile.
Response queue_registration(store::Db &db, const store::NewPending &p)
{
    bool registered = false;
    auto job = store::with_txn(db, [&](store::Txn &txn) -> Result<uint64_t> {
        registered = false;
        auto id = store::enqueue(txn.db(), p);
        if (!id)
            return id.error();
        // A pending registration confirmed between the early check and our
        // insert leaves the uid registered: the locking read sees the latest commit.
        auto reg = store::patch_registered_locked(txn.db(), p.uid_tag_id);
        if (!reg)
            return reg.error();
        if (*reg) {
            registered = true;
            return Errc::conflict;
        }
        return id;
    });
    if (!job) {
        if (registered)
            return conflict("This uid_tag_id is already registered.");
        return job.error() == Errc::conflict ? conflict("A registration of this uid_tag_id is already pending.")
                                             : unavailable("Database");
    }
    log_event("patch registration queued", p.uid_tag_id, p.id);
    return http::json(202, json_pack("{s:s,s:I,s:s,s:s}", "message", "Queued for broadcast", "jobId",
                                     json_int_t(*job), "uid_tag_id", p.uid_tag_id.c_str(), "pendingId", p.id.c_str()));
}

Response register_patch(AppContext &ctx, const Request &req, const PathParams &)
{
    auto body = http::parse_json_body(req);
    if (body.error)
        return *body.error;
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"product", "metadata", "auth"});
    const json_t *product = v.object("product", true);
    const json_t *metadata = v.object("metadata", true);
    const json_t *auth = v.object("auth", true);

    std::optional<std::string_view> uid, owner;
    if (product) {
        http::Validator pv(product, details.get(), "product");
        pv.only({"uid_tag_id", "name", "category", "sku", "serial_number", "material"});
        uid = pv.string("uid_tag_id", true);
        if (uid && !valid_uid(*uid))
            pv.problem("uid_tag_id", "must match ^[A-Za-z0-9._:-]{3,128}$");
        else if (uid && reserved_uid(*uid))
            pv.problem("uid_tag_id", "is reserved (verify, pending, proof, or ending in .pdf)");
        for (const char *f : {"name", "category", "sku", "serial_number", "material"})
            optional_text(pv, f, kProductFieldMaxBytes);
    }
    if (metadata) {
        http::Validator mv(metadata, details.get(), "metadata");
        mv.only({"notes", "image", "patch_location"});
        optional_text(mv, "notes", kNotesMaxBytes);
        optional_text(mv, "patch_location", kLocationMaxBytes);
        auto image = mv.string("image", false);
        if (image && !valid_http_url(*image))
            mv.problem("image", "must be an http or https URL");
    }
    if (auth) {
        http::Validator av(auth, details.get(), "auth");
        av.only({"owner"});
        owner = av.string("owner", true);
        if (owner && !crypto::parse_p2pkh_address(*owner, ctx.network()))
            av.problem("owner", "must be a P2PKH address of this network");
    }
    if (!v.ok())
        return http::validation_error(details.release());
    const std::string uid_s(*uid), owner_s(*owner);

    store::Db *db = ctx.db();
    if (!db)
        return unavailable("Database");
    // Cheap early answer before asking the KMS; the transaction below decides races.
    auto state = load_patch_state(*db, uid_s);
    if (!state)
        return unavailable("Database");
    if (*state)
        return conflict("This uid_tag_id is already registered.");
    auto pending = store::registration_pending(*db, uid_s);
    if (!pending)
        return unavailable("Database");
    if (*pending)
        return conflict("A registration of this uid_tag_id is already pending.");

    const int64_t ts = app::now_ms();
    auto msha = metadata_sha256(metadata);
    if (!msha)
        return http::error(400, http::code::validation, "Metadata cannot be canonicalised.");
    auto issuer = issuer_signature(ctx, issuer_message(uid_s, *msha, ts));
    if (!issuer)
        return unavailable("Issuer signature");

    auto record = registration_record(product, metadata, owner_s, *issuer, ts);
    if (!record)
        return internal();
    auto encoded = encode_record(record->get());
    if (!encoded)
        return http::error(400, http::code::validation, "Record cannot be canonicalised.");

    store::NewPending p;
    p.id = store::random_id();
    p.kind = store::to_text(store::PendingKind::registration);
    p.uid_tag_id = uid_s;
    p.record = encoded->on_chain;
    return queue_registration(*db, p);
}

// ---------------------------------------------------------------- pending

Response pending_view(AppContext &ctx, const PathParams &params, store::PendingKind kind)
{
    const std::string_view id = params.get("id");
    if (!valid_id32(id))
        return http::validation_error(json_pack("[{s:s,s:s}]", "field", "id", "issue", "must be 32 hex characters"),
                                      "Invalid pending id.");
    store::Db *db = ctx.db();
    if (!db)
        return unavailable("Database");
    auto v = store::find_pending(*db, ascii_lower(id), kind);
    if (!v)
        return v.error() == Errc::not_found ? http::error(404, http::code::not_found, "No such pending record.")
                                            : unavailable("Database");
    const std::string status(store::to_text(v->status));
    JsonPtr out(json_pack("{s:s,s:s,s:s,s:o}", "id", v->id.c_str(), "uid_tag_id", v->uid_tag_id.c_str(), "status",
                          status.c_str(), "txid", json_string_or_null(v->txid)));
    if (kind == store::PendingKind::registration) {
        const std::string url = "/v1/patches/verify/" + v->uid_tag_id;
        json_object_set_new(out.get(), "certificateUrl",
                            v->status == store::PendingStatus::confirmed ? json_string(url.c_str()) : json_null());
    }
    json_object_set_new(out.get(), "error", json_string_or_null(v->error));
    json_object_set_new(out.get(), "created_at", json_string(v->created_at.c_str()));
    json_object_set_new(out.get(), "updated_at", json_string(v->updated_at.c_str()));
    return http::json(200, out.release());
}

Response pending_registration(AppContext &ctx, const Request &, const PathParams &params)
{
    return pending_view(ctx, params, store::PendingKind::registration);
}

Response pending_transfer(AppContext &ctx, const Request &, const PathParams &params)
{
    return pending_view(ctx, params, store::PendingKind::transfer);
}

// ---------------------------------------------------------------- verify

// What verify derives from a stored record: whether its issuer signature
// holds, and its hash. Both are pure functions of the record's bytes, so each
// worker remembers them per record (keyed by SHA-256 of the bytes) and a hot
// patch costs one MariaDB read instead of an ECDSA verify per request.
struct RecordFacts {
    bool authentic = false;
    std::string hash_hex;
};

const RecordFacts *facts_for(const json_t *record, std::string_view record_bytes)
{
    constexpr size_t kMaxRemembered = 4096;
    static std::unordered_map<std::string, RecordFacts> remembered;  // this worker's, for its lifetime
    const crypto::Hash256 key_hash = crypto::sha256(crypto::as_bytes(record_bytes));
    std::string key(reinterpret_cast<const char *>(key_hash.data()), key_hash.size());
    if (auto it = remembered.find(key); it != remembered.end())
        return &it->second;
    auto hash = record_hash(record);
    if (!hash)
        return nullptr;
    if (remembered.size() >= kMaxRemembered)
        remembered.clear();  // crude but bounded; refilled by the next requests
    RecordFacts f{verify_issuer_signature(record).ok(), std::move(*hash)};
    return &remembered.emplace(std::move(key), std::move(f)).first->second;
}

Response verify(AppContext &ctx, const Request &, const PathParams &params)
{
    auto uid = uid_param(params);
    if (!uid)
        return bad_uid();
    store::Db *db = ctx.db();
    if (!db)
        return unavailable("Database");
    auto state = load_patch_state(*db, *uid);
    if (!state)
        return unavailable("Database");
    if (!*state)
        return http::error(404, http::code::not_found, "No patch with this uid_tag_id.");
    const PatchState &s = **state;
    json_error_t jerr;
    JsonPtr record(json_loadb(s.current_record.data(), s.current_record.size(), JSON_REJECT_DUPLICATES, &jerr));
    if (!json_is_object(record.get())) {
        log::error("stored record does not parse");
        return internal();
    }
    // The hash of the record we answer with, so a client can check the two agree.
    const RecordFacts *facts = facts_for(record.get(), s.current_record);
    if (!facts)
        return internal();
    const bool authentic = facts->authentic;
    // The current record's batch, once the chain accepted its root (else null).
    auto batch = store::anchor_of_record(*db, s.current_txid);
    if (!batch)
        return unavailable("Database");
    json_t *anchor = *batch ? json_pack("{s:s,s:s}", "merkleRoot", (*batch)->merkle_root.c_str(), "anchorTxid",
                                        (*batch)->anchor_txid.c_str())
                            : json_null();
    return http::json(200, json_pack("{s:s,s:O,s:{s:b,s:s,s:s,s:s,s:o}}", "status",
                                     authentic ? "authentic" : "compromised", "record", record.get(),
                                     "verificationDetails", "issuerSignatureValid", authentic ? 1 : 0, "onChainTxid",
                                     s.current_txid.c_str(), "owner", s.owner_address.c_str(), "recordHash",
                                     facts->hash_hex.c_str(), "anchor", anchor));
}

// ---------------------------------------------------------------- transfer

// The transfer lock on state `s` and the pending transfer with its job, in
// one transaction; 202, or 409 when the state moved or a transfer holds it.
Response queue_transfer(store::Db &db, const PatchState &s, const store::NewPending &p)
{
    bool lost_lock = false;
    auto job = store::with_txn(db, [&](store::Txn &txn) -> Result<uint64_t> {
        lost_lock = false;
        if (auto locked = store::lock_for_transfer(txn.db(), s, p.id); !locked) {
            lost_lock = locked.error() == Errc::conflict;
            return locked.error();
        }
        return store::enqueue(txn.db(), p);
    });
    if (!job)
        return lost_lock ? conflict("A transfer of this patch is already pending.") : unavailable("Database");
    log_event("patch transfer queued", p.uid_tag_id, p.id);
    return http::json(202, json_pack("{s:s,s:I,s:s,s:s}", "message", "Queued for broadcast", "jobId",
                                     json_int_t(*job), "uid_tag_id", p.uid_tag_id.c_str(), "pendingId", p.id.c_str()));
}

Response transfer(AppContext &ctx, const Request &req, const PathParams &params)
{
    auto body = http::parse_json_body(req);
    if (body.error)
        return *body.error;
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"newOwnerAddress", "currentOwnerPubKey", "currentOwnerSignature"});
    auto new_owner = v.string("newOwnerAddress", true);
    auto pub = v.string("currentOwnerPubKey", true);
    auto sig = v.string("currentOwnerSignature", true);
    const crypto::Network net = ctx.network();
    if (new_owner && !crypto::parse_p2pkh_address(*new_owner, net))
        v.problem("newOwnerAddress", "must be a P2PKH address of this network");
    if (pub && !address_of_pubkey(*pub, net))
        v.problem("currentOwnerPubKey", "must be a 33-byte compressed secp256k1 public key in hex");
    if (sig && !valid_signature_hex(*sig))
        v.problem("currentOwnerSignature", "must be non-empty hex of even length, at most 146 characters");
    if (!valid_txid(params.get("txid")))
        v.problem("txid", "must be 64 hex characters");
    if (!v.ok())
        return http::validation_error(details.release());
    const std::string txid = ascii_lower(params.get("txid"));
    const std::string new_owner_s(*new_owner), pub_s = ascii_lower(*pub), sig_s = ascii_lower(*sig);

    store::Db *db = ctx.db();
    if (!db)
        return unavailable("Database");
    auto rec = store::uid_of_record(*db, txid);
    if (!rec)
        return unavailable("Database");
    if (!*rec)
        return http::error(404, http::code::not_found, "No record with this txid.");
    const std::string uid = **rec;
    auto state = load_patch_state(*db, uid);
    if (!state)
        return unavailable("Database");
    if (!*state || (*state)->current_txid != txid)
        return conflict("This txid is not the current state of the patch.");
    const PatchState &s = **state;
    if (s.pending_transfer_id)
        return conflict("A transfer of this patch is already pending.");

    // Ownership and signature before the lock, so a 403 never leaves it held.
    auto addr = address_of_pubkey(pub_s, net);
    if (!addr || *addr != s.owner_address)
        return http::error(403, http::code::forbidden, "The key is not the current owner's.");
    if (!verify_message_signature(transfer_message(uid, txid, new_owner_s), pub_s, sig_s)) {
        log_event("transfer signature mismatch", uid, "");
        return http::error(403, http::code::forbidden, "The owner's signature is invalid.");
    }

    json_error_t jerr;
    JsonPtr current(json_loadb(s.current_record.data(), s.current_record.size(), JSON_REJECT_DUPLICATES, &jerr));
    OwnerTransfer t{new_owner_s, txid, pub_s, sig_s, app::now_ms()};
    auto next = transfer_record(current.get(), t);
    if (!next)
        return internal();
    auto encoded = encode_record(next->get());
    if (!encoded)
        return internal();

    store::NewPending p;
    p.id = store::random_id();
    p.kind = store::to_text(store::PendingKind::transfer);
    p.uid_tag_id = uid;
    p.record = encoded->on_chain;
    p.prev_txid = txid;
    return queue_transfer(*db, s, p);
}

// ---------------------------------------------------------------- content

// CONTENT_MASTER_KEY as 32 bytes; false when it is not configured.
bool master_key(const AppContext &ctx, crypto::Secret<32> &out)
{
    if (ctx.cfg.content_master_key.size() != 64)
        return false;
    return crypto::hex_decode_into(out.span(), ctx.cfg.content_master_key.reveal()).ok();
}

Response unlock(AppContext &ctx, const Request &req, const PathParams &params)
{
    auto body = http::parse_json_body(req);
    if (body.error)
        return *body.error;
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"ownerPubKey", "ownerSignature"});
    auto pub = v.string("ownerPubKey", true);
    auto sig = v.string("ownerSignature", true);
    const crypto::Network net = ctx.network();
    if (pub && !address_of_pubkey(*pub, net))
        v.problem("ownerPubKey", "must be a 33-byte compressed secp256k1 public key in hex");
    if (sig && !valid_signature_hex(*sig))
        v.problem("ownerSignature", "must be non-empty hex of even length, at most 146 characters");
    auto uid = uid_param(params);
    if (!uid)
        v.problem("uid_tag_id", "must match ^[A-Za-z0-9._:-]{3,128}$");
    if (!v.ok())
        return http::validation_error(details.release());

    store::Db *db = ctx.db();
    if (!db)
        return unavailable("Database");
    auto state = load_patch_state(*db, *uid);
    if (!state)
        return unavailable("Database");
    if (!*state)
        return http::error(404, http::code::not_found, "No patch with this uid_tag_id.");
    const PatchState &s = **state;
    auto addr = address_of_pubkey(*pub, net);
    if (!addr || *addr != s.owner_address)
        return http::error(403, http::code::forbidden, "The key is not the current owner's.");
    if (!verify_message_signature(unlock_message(*uid, s.current_txid), ascii_lower(*pub), ascii_lower(*sig)))
        return http::error(403, http::code::forbidden, "The owner's signature is invalid.");

    auto sealed = store::find_content(*db, *uid);
    if (!sealed)
        return unavailable("Database");
    JsonPtr out(json_pack("{s:b,s:s,s:s}", "authorized", 1, "uid_tag_id", uid->c_str(), "txid",
                          s.current_txid.c_str()));
    if (*sealed) {
        crypto::Secret<32> master;
        if (!master_key(ctx, master))
            return unavailable("Content decryption");
        const std::string &nonce = (*sealed)->nonce;
        const std::string &ct = (*sealed)->ciphertext;
        auto plain = open_content(master.span(), *uid, crypto::as_bytes(nonce), crypto::as_bytes(ct));
        if (!plain) {
            log::error("stored content does not decrypt");
            return internal();
        }
        json_object_set_new(out.get(), "content", json_stringn(plain->data(), plain->size()));
        sodium_memzero(plain->data(), plain->size());
    }
    Response r = http::json(200, out.release());
    r.add_header("Cache-Control", "no-store");
    return r;
}

Response put_content(AppContext &ctx, const Request &req, const PathParams &params)
{
    auto body = http::parse_json_body(req);
    if (body.error)
        return *body.error;
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"content"});
    auto content = v.string("content", true);
    if (content && content->size() > kContentMaxBytes)
        v.problem("content", "must be at most 65536 bytes of UTF-8");
    auto uid = uid_param(params);
    if (!uid)
        v.problem("uid_tag_id", "must match ^[A-Za-z0-9._:-]{3,128}$");
    if (!v.ok())
        return http::validation_error(details.release());

    store::Db *db = ctx.db();
    if (!db)
        return unavailable("Database");
    auto state = load_patch_state(*db, *uid);
    if (!state)
        return unavailable("Database");
    if (!*state)
        return http::error(404, http::code::not_found, "No patch with this uid_tag_id.");
    crypto::Secret<32> master;
    if (!master_key(ctx, master))
        return unavailable("Content encryption");
    const SealedContent sealed = seal_content(master.span(), *uid, *content);
    const std::string_view nonce(reinterpret_cast<const char *>(sealed.nonce.data()), sealed.nonce.size());
    const std::string_view ct(reinterpret_cast<const char *>(sealed.ciphertext.data()), sealed.ciphertext.size());
    auto up = store::put_content(*db, *uid, nonce, ct, int64_t(content->size()));
    if (!up)
        return unavailable("Database");
    return http::json(200, json_pack("{s:s,s:b,s:I}", "uid_tag_id", uid->c_str(), "stored", 1, "bytes",
                                     json_int_t(content->size())));
}

}  // namespace

void add_routes(app::AppRouter &router)
{
    using http::Auth;
    router.add("POST", "/v1/patches", register_patch, Auth::api_key, kBodyLimit, false);
    router.add("GET", "/v1/patches/pending/registration/{id}", pending_registration, Auth::none, 0, true);
    router.add("GET", "/v1/patches/pending/transfer/{id}", pending_transfer, Auth::none, 0, true);
    router.add("GET", "/v1/patches/verify/{uid}", verify, Auth::none, 0, true);
    router.add("POST", "/v1/patches/{txid}/transfer-ownership", transfer, Auth::api_key_and_jwt, kBodyLimit, false);
    router.add("POST", "/v1/patches/{uid}/unlock-content", unlock, Auth::api_key, kBodyLimit, false);
    router.add("PUT", "/v1/patches/{uid}/content", put_content, Auth::api_key, kBodyLimit, false);
}

}  // namespace pp::registry

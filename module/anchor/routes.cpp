// SPDX-License-Identifier: MIT
#include "anchor/routes.h"

#include <optional>
#include <string>

#include "admin/anchor.h"
#include "common/json.h"
#include "common/text.h"
#include "crypto/encoding.h"
#include "http/body.h"
#include "log/log.h"
#include "store/batches.h"

namespace pp::anchor {
namespace {

using app::AppContext;
using http::Auth;
using http::PathParams;
using http::Request;
using http::Response;

constexpr size_t kBodyLimit = 4096;

// The body's limit, or the 400/415 to send. No body at all means the default.
std::optional<Response> read_limit(const Request &req, int64_t &limit)
{
    limit = admin::kAnchorDefaultLimit;
    if (req.body.empty() && req.content_length <= 0)
        return std::nullopt;
    auto body = http::parse_json_body(req);
    if (body.error)
        return std::move(*body.error);
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"limit"});
    if (auto n = v.integer("limit", false)) {
        if (*n < 1 || *n > admin::kAnchorMaxLimit)
            v.problem("limit", "must be an integer from 1 to 1000");
        else
            limit = *n;
    }
    if (!v.ok())
        return http::validation_error(details.release());
    return std::nullopt;
}

void log_failure(Errc e)
{
    const std::string_view name = errc_name(e);
    JsonPtr f(json_pack("{s:s%}", "error", name.data(), name.size()));
    log::error("batch-anchor run failed", f.get());
}

Response batch_anchor(AppContext &ctx, const Request &req, const PathParams &)
{
    int64_t limit = 0;
    if (auto bad = read_limit(req, limit))
        return std::move(*bad);
    store::Db *db = ctx.db();
    if (!db)
        return http::unavailable("Database");
    admin::AnchorOptions opt{limit, ctx.cfg.admin_wait_sec, ctx.cfg.admin_lease_sec};
    auto out = admin::batch_anchor(*db, opt);
    if (!out) {
        switch (out.error()) {
        case Errc::conflict:
            return http::error(409, http::code::conflict, "Another batch-anchor run is in progress.");
        case Errc::unavailable:
        case Errc::deadlock:
        case Errc::timeout:
            return http::unavailable("Database");
        default:
            log_failure(out.error());
            return http::error(500, http::code::internal, "Internal error.");
        }
    }
    // A job that failed while the run waited is a finished run: 200 with
    // success false and the job's error, as utxo-maintain answers it.
    const int status = out->state == admin::AnchorState::waiting ? 202 : 200;
    return http::json(status, admin::anchor_outcome_json(*out));
}

// A proof's stored path (our own compact JSON), as a value.
json_t *parse_path(const std::string &text)
{
    json_t *path = json_loadb(text.data(), text.size(), 0, nullptr);
    if (json_is_array(path))
        return path;
    json_decref(path);
    return nullptr;
}

Response proof(AppContext &ctx, const Request &, const PathParams &params)
{
    const std::string_view raw = params.get("recordHash");
    if (raw.size() != 64 || !crypto::is_hex(raw))
        return http::validation_error(json_pack("[{s:s,s:s}]", "field", "recordHash", "issue", "must be 64 hex digits"),
                                      "Invalid recordHash.");
    const std::string hash = ascii_lower(raw);
    store::Db *db = ctx.db();
    if (!db)
        return http::unavailable("Database");
    auto found = store::find_proof(*db, hash);
    if (!found)
        return http::unavailable("Database");
    if (!*found)
        return http::error(404, http::code::not_found, "No anchored batch holds this record hash (yet).");
    json_t *path = parse_path((*found)->path_json);
    if (!path)
        return http::error(500, http::code::internal, "Internal error.");
    return http::json(200, json_pack("{s:s,s:s,s:o,s:s}", "recordHash", (*found)->record_hash.c_str(), "merkleRoot",
                                     (*found)->merkle_root.c_str(), "path", path, "anchorTxid",
                                     (*found)->anchor_txid.c_str()));
}

}  // namespace

void add_routes(app::AppRouter &router)
{
    router.add("POST", "/v1/admin/batch-anchor", batch_anchor, Auth::api_key, kBodyLimit, false);
    router.add("GET", "/v1/patches/proof/{recordHash}", proof, Auth::none, 0, true);
}

}  // namespace pp::anchor

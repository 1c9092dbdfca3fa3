// SPDX-License-Identifier: MIT
#include "admin/routes.h"


#include "admin/maintain.h"
#include "admin/maintain_http.h"
#include "http/body.h"
#include "log/log.h"

namespace pp::admin {
namespace {

using app::AppContext;
using http::PathParams;
using http::Request;
using http::Response;

constexpr size_t kBodyLimit = 1024 * 1024;

Response health(AppContext &ctx, const Request &, const PathParams &)
{
    store::Db *db = ctx.db();
    if (!db)
        return http::unavailable("Database");
    auto s = resolve_settings(*db, ctx.cfg);
    if (!s)
        return health_error(s.error());
    auto chain = chain_client(ctx.cfg);
    auto body = utxo_health(*db, chain ? &*chain : nullptr, *s);
    if (!body)
        return health_error(body.error());
    return http::json(200, body->release());
}

Response maintain(AppContext &ctx, const Request &req, const PathParams &)
{
    auto body = http::parse_json_body(req);
    if (body.error)
        return *body.error;
    JsonPtr details(json_array());
    http::Validator v(body.object.get(), details.get());
    v.only({"action", "dryRun"});
    auto action_name = v.string("action", true);
    auto dry = v.boolean("dryRun", false);
    std::optional<Action> action;
    if (action_name) {
        action = action_from_text(*action_name);
        if (!action)
            v.problem("action", "must be one of auto, sync, sweep, split");
    }
    if (!v.ok() || !action)
        return http::validation_error(details.release());

    store::Db *db = ctx.db();
    if (!db)
        return http::unavailable("Database");
    auto s = resolve_settings(*db, ctx.cfg);
    if (!s)
        return health_error(s.error());
    auto chain = chain_client(ctx.cfg);
    auto out = run_maintain(*db, chain ? &*chain : nullptr, *s, *action, dry.value_or(false));
    if (!out)
        return maintain_error(out.error());
    return http::json(out->all_signed ? 200 : 202, out->body.release());
}

}  // namespace

void add_routes(app::AppRouter &router)
{
    using http::Auth;
    router.add("GET", "/v1/admin/utxo-health", health, Auth::api_key, 0, false);
    router.add("POST", "/v1/admin/utxo-maintain", maintain, Auth::api_key, kBodyLimit, false);
}

}  // namespace pp::admin

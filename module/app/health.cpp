// SPDX-License-Identifier: MIT
#include "app/health.h"

#include "common/json.h"
#include "store/stats.h"

namespace pp::app {
namespace {

using http::PathParams;
using http::Request;
using http::Response;

Response ping(AppContext &, const Request &, const PathParams &) { return http::text(200, "pong"); }

Response health(AppContext &, const Request &, const PathParams &)
{
    return http::json(200, json_pack("{s:s}", "status", "ok"));
}

// /ready is public: each worker probes its dependencies (short timeouts,
// no retries) at most about once a second, whatever the request rate.
const AppContext::ReadyChecks &ready_checks(AppContext &ctx)
{
    AppContext::ReadyChecks &c = ctx.ready_cached;
    const int64_t now = steady_ms();
    if (c.at_ms != 0 && now - c.at_ms < kReadyReuseMs)
        return c;
    store::Db *db = ctx.db();
    c.db = db && db->ping();
    store::Cache *cache = ctx.cache();
    c.cache = cache && cache->ping();
    kms::Client *kms = ctx.kms();
    c.kms = kms && kms->health(kms::kProbe).ok();
    c.at_ms = steady_ms();
    return c;
}

Response ready(AppContext &ctx, const Request &, const PathParams &)
{
    const AppContext::ReadyChecks &c = ready_checks(ctx);
    const bool db_ok = c.db, cache_ok = c.cache, kms_ok = c.kms;
    const bool all = db_ok && cache_ok && kms_ok;
    json_t *checks = json_pack("{s:s,s:s,s:s}", "db", db_ok ? "ok" : "fail", "cache", cache_ok ? "ok" : "fail",
                               "kms", kms_ok ? "ok" : "fail");
    Response r = http::json(all ? 200 : 503, json_pack("{s:b,s:o}", "ready", all ? 1 : 0, "checks", checks));
    r.add_header("Cache-Control", "no-store");
    return r;
}

// Gauges read from MariaDB at scrape time; none when it is down (the
// families still carry their HELP/TYPE lines).
std::vector<server::Gauge> gauges(AppContext &ctx, Result<std::vector<store::LabelCount>> (*read)(store::Db &),
                                  const char *label)
{
    std::vector<server::Gauge> out;
    store::Db *db = ctx.db();
    if (!db)
        return out;
    auto counts = read(*db);
    if (!counts)
        return out;
    for (const auto &c : *counts)
        out.push_back({std::string(label) + "=\"" + c.label + "\"", double(c.count)});
    return out;
}

Response render(AppContext &ctx, bool internal)
{
    server::RenderInput in;
    in.jobs = gauges(ctx, store::jobs_by_step, "state");
    in.utxo_pool = gauges(ctx, store::utxos_by_status, "status");
    for (const auto &r : ctx.router.routes())
        in.route_names.push_back(r.method + " " + r.pattern);
    in.kid = ctx.kid();
    in.sha = ctx.cfg.deploy_sha;
    in.internal = internal;
    if (!ctx.metrics)
        return http::error(503, http::code::unavailable, "Metrics unavailable.");
    Response r = http::text(200, server::render_prometheus(*ctx.metrics, in), "text/plain; version=0.0.4");
    r.add_header("Cache-Control", "no-store");
    return r;
}

Response metrics(AppContext &ctx, const Request &, const PathParams &) { return render(ctx, false); }

Response internal_metrics(AppContext &ctx, const Request &, const PathParams &) { return render(ctx, true); }

}  // namespace

void add_health_routes(AppRouter &router, const config::Config &cfg)
{
    using http::Auth;
    router.add("GET", "/__ping", ping, Auth::none, 0, false);
    router.add("GET", "/health", health, Auth::none, 0, false);
    router.add("GET", "/ready", ready, Auth::none, 0, false);
    router.add("GET", "/metrics", metrics, cfg.metrics_require_api_key ? Auth::api_key : Auth::none, 0, false);
    router.add("GET", "/internal/metrics", internal_metrics, Auth::api_key, 0, false);
}

}  // namespace pp::app

// SPDX-License-Identifier: MIT
#include "server/metrics.h"

#include <sys/mman.h>

#include <cstdio>
#include <new>

namespace pp::server {
namespace {

size_t status_slot(int status) noexcept
{
    for (size_t i = 0; i < std::size(kTrackedStatuses); ++i)
        if (kTrackedStatuses[i] == status)
            return i;
    return kStatusSlots - 1;
}

std::string fmt_double(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

// Label values are ours (route patterns, kid, sha) but escape anyway.
std::string label_value(std::string_view v)
{
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

void family(std::string &out, const char *name, const char *type, const char *help)
{
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

}  // namespace

SharedMetrics *create_shared_metrics() noexcept
{
    void *p = ::mmap(nullptr, sizeof(SharedMetrics), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return nullptr;
    return new (p) SharedMetrics{};  // anonymous pages are zero; atomics are lock-free
}

void observe_request(SharedMetrics &m, size_t route_index, int status, double seconds) noexcept
{
    if (route_index >= kMaxRoutes)
        return;
    m.requests[route_index][status_slot(status)].fetch_add(1, std::memory_order_relaxed);
    size_t b = 0;
    while (b < std::size(kDurationBuckets) && seconds > kDurationBuckets[b])
        ++b;
    m.duration_bucket[route_index][b].fetch_add(1, std::memory_order_relaxed);
    m.duration_sum_us[route_index].fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void observe_svd(SharedMetrics &m, SvdEvent e) noexcept
{
    m.svd_events[static_cast<size_t>(e)].fetch_add(1, std::memory_order_relaxed);
}

void observe_challenge_age(SharedMetrics &m, double seconds) noexcept
{
    size_t b = 0;
    while (b < std::size(kAgeBuckets) && seconds > kAgeBuckets[b])
        ++b;
    m.challenge_age_bucket[b].fetch_add(1, std::memory_order_relaxed);
    m.challenge_age_sum_ms.fetch_add(static_cast<uint64_t>(seconds * 1000), std::memory_order_relaxed);
}

uint64_t svd_event_count(const SharedMetrics &m, SvdEvent e) noexcept
{
    return m.svd_events[static_cast<size_t>(e)].load(std::memory_order_relaxed);
}

std::string_view svd_event_name(SvdEvent e) noexcept
{
    switch (e) {
    case SvdEvent::begin: return "begin";
    case SvdEvent::complete: return "complete";
    case SvdEvent::replayed: return "replayed";
    case SvdEvent::expired: return "expired";
    case SvdEvent::bad_challenge: return "bad_challenge";
    case SvdEvent::no_pmc: return "no_pmc";
    case SvdEvent::invalid: return "invalid";
    case SvdEvent::count_: break;
    }
    return "unknown";
}

std::string render_prometheus(const SharedMetrics &m, const RenderInput &in)
{
    std::string out;
    out.reserve(8192);

    family(out, "pp_http_requests_total", "counter", "HTTP requests by route and status.");
    for (size_t r = 0; r < in.route_names.size() && r < kMaxRoutes; ++r) {
        for (size_t s = 0; s < kStatusSlots; ++s) {
            const uint64_t v = m.requests[r][s].load(std::memory_order_relaxed);
            if (!v)
                continue;
            const std::string status = s < std::size(kTrackedStatuses) ? std::to_string(kTrackedStatuses[s]) : "other";
            out += "pp_http_requests_total{route=\"" + label_value(in.route_names[r]) + "\",status=\"" + status +
                   "\"} " + std::to_string(v) + "\n";
        }
    }

    family(out, "pp_http_request_duration_seconds", "histogram", "Request handling time by route.");
    for (size_t r = 0; r < in.route_names.size() && r < kMaxRoutes; ++r) {
        uint64_t cumulative = 0;
        for (size_t b = 0; b < kDurationSlots; ++b)
            cumulative += m.duration_bucket[r][b].load(std::memory_order_relaxed);
        if (!cumulative)
            continue;
        const std::string route = label_value(in.route_names[r]);
        uint64_t running = 0;
        for (size_t b = 0; b < kDurationSlots; ++b) {
            running += m.duration_bucket[r][b].load(std::memory_order_relaxed);
            const std::string le = b < std::size(kDurationBuckets) ? fmt_double(kDurationBuckets[b]) : "+Inf";
            out += "pp_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"" + le + "\"} " +
                   std::to_string(running) + "\n";
        }
        out += "pp_http_request_duration_seconds_sum{route=\"" + route + "\"} " +
               fmt_double(static_cast<double>(m.duration_sum_us[r].load(std::memory_order_relaxed)) / 1e6) + "\n";
        out += "pp_http_request_duration_seconds_count{route=\"" + route + "\"} " + std::to_string(running) + "\n";
    }

    family(out, "pp_svd_events_total", "counter", "SVD login events.");
    const std::string kid = label_value(in.kid), sha = label_value(in.sha);
    for (size_t e = 0; e < static_cast<size_t>(SvdEvent::count_); ++e) {
        const uint64_t v = m.svd_events[e].load(std::memory_order_relaxed);
        if (!v)
            continue;
        out += "pp_svd_events_total{event=\"" + std::string(svd_event_name(static_cast<SvdEvent>(e))) +
               "\",kid=\"" + kid + "\",sha=\"" + sha + "\"} " + std::to_string(v) + "\n";
    }

    family(out, "pp_svd_challenge_age_seconds", "histogram", "Age of a challenge when its login completes.");
    {
        uint64_t running = 0;
        for (size_t b = 0; b < kAgeSlots; ++b) {
            running += m.challenge_age_bucket[b].load(std::memory_order_relaxed);
            const std::string le = b < std::size(kAgeBuckets) ? fmt_double(kAgeBuckets[b]) : "+Inf";
            out += "pp_svd_challenge_age_seconds_bucket{le=\"" + le + "\"} " + std::to_string(running) + "\n";
        }
        out += "pp_svd_challenge_age_seconds_sum " +
               fmt_double(static_cast<double>(m.challenge_age_sum_ms.load(std::memory_order_relaxed)) / 1000) + "\n";
        out += "pp_svd_challenge_age_seconds_count " + std::to_string(running) + "\n";
    }

    family(out, "pp_jobs", "gauge", "Jobs by state.");
    for (const Gauge &g : in.jobs)
        out += "pp_jobs{" + g.labels + "} " + fmt_double(g.value) + "\n";
    family(out, "pp_utxo_pool", "gauge", "UTXO pool entries by status.");
    for (const Gauge &g : in.utxo_pool)
        out += "pp_utxo_pool{" + g.labels + "} " + fmt_double(g.value) + "\n";

    if (in.internal) {
        family(out, "pp_challenges_issued_total", "counter", "SVD challenges issued.");
        out += "pp_challenges_issued_total " + std::to_string(m.challenges_issued.load(std::memory_order_relaxed)) + "\n";
        family(out, "pp_jwt_success_total", "counter", "JWTs issued after a successful SVD login.");
        out += "pp_jwt_success_total " + std::to_string(m.jwt_success.load(std::memory_order_relaxed)) + "\n";
    }
    return out;
}

}  // namespace pp::server

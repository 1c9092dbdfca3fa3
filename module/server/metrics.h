// SPDX-License-Identifier: MIT
// Pool-wide counters in one MAP_SHARED page set up by the master before it
// forks, so every worker adds to the same numbers and one scrape sees the
// whole pool. Counters are lock-free atomics; rendering is Prometheus text
// format 0.0.4 with every family's HELP/TYPE present from the first scrape.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pp::server {

inline constexpr size_t kMaxRoutes = 64;
inline constexpr int kTrackedStatuses[] = {200, 201, 202, 204, 400, 401, 403, 404, 405, 409,
                                           411, 413, 415, 429, 500, 502, 503, 504};
inline constexpr size_t kStatusSlots = std::size(kTrackedStatuses) + 1;  // + "other"
inline constexpr double kDurationBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
inline constexpr size_t kDurationSlots = std::size(kDurationBuckets) + 1;  // + +Inf
inline constexpr double kAgeBuckets[] = {1, 2, 5, 10, 30, 60, 120, 180, 300};
inline constexpr size_t kAgeSlots = std::size(kAgeBuckets) + 1;

enum class SvdEvent { begin, complete, replayed, expired, bad_challenge, no_pmc, invalid, count_ };

struct SharedMetrics {
    std::atomic<uint64_t> requests[kMaxRoutes][kStatusSlots];
    std::atomic<uint64_t> duration_bucket[kMaxRoutes][kDurationSlots];
    std::atomic<uint64_t> duration_sum_us[kMaxRoutes];
    std::atomic<uint64_t> svd_events[static_cast<size_t>(SvdEvent::count_)];
    std::atomic<uint64_t> challenge_age_bucket[kAgeSlots];
    std::atomic<uint64_t> challenge_age_sum_ms;
    std::atomic<uint64_t> challenges_issued;
    std::atomic<uint64_t> jwt_success;
};

// Anonymous shared mapping, zeroed; nullptr if mmap fails. Lives until exit.
SharedMetrics *create_shared_metrics() noexcept;

void observe_request(SharedMetrics &m, size_t route_index, int status, double seconds) noexcept;
void observe_svd(SharedMetrics &m, SvdEvent e) noexcept;
void observe_challenge_age(SharedMetrics &m, double seconds) noexcept;

struct Gauge {
    std::string labels;  // e.g. state="queued"
    double value;
};

struct RenderInput {
    std::vector<std::string> route_names;  // by route index
    std::string kid, sha;
    bool internal = false;                 // add the /internal/metrics families
    std::vector<Gauge> jobs, utxo_pool;    // may be empty
};

std::string render_prometheus(const SharedMetrics &m, const RenderInput &in);
uint64_t svd_event_count(const SharedMetrics &m, SvdEvent e) noexcept;
std::string_view svd_event_name(SvdEvent e) noexcept;

}  // namespace pp::server

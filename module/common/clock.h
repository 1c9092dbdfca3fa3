// SPDX-License-Identifier: MIT
// Wall-clock time in unix milliseconds and seconds: the one clock leases,
// lock ages and expiries are compared by, across processes and hosts.
// (Timeouts within a process use std::chrono::steady_clock instead.)
#pragma once

#include <chrono>
#include <cstdint>

namespace pp {

inline int64_t wall_ms() noexcept
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

inline int64_t wall_sec() noexcept { return wall_ms() / 1000; }

}  // namespace pp

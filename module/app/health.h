// SPDX-License-Identifier: MIT
// Liveness, readiness and metrics endpoints of DESIGN.md §3.
#pragma once

#include "app/context.h"

namespace pp::app {

// /metrics needs the API key when METRICS_REQUIRE_API_KEY is set.
void add_health_routes(AppRouter &router, const config::Config &cfg);

}  // namespace pp::app

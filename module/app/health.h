// SPDX-License-Identifier: MIT
// Liveness, readiness and metrics endpoints of DESIGN.md §3.
#pragma once

#include "app/context.h"

namespace pp::app {

void add_health_routes(AppRouter &router);

}  // namespace pp::app

// SPDX-License-Identifier: MIT
// SVD passwordless login endpoints (DESIGN.md §3): register (POST, and PUT
// with the user's JWT), begin, complete, kid and canary. Each handler keeps
// the contract's order of checks; memcached or MariaDB down is a 503, and
// the replay check is never skipped.
#pragma once

#include "app/context.h"

namespace pp::svd {

void add_routes(app::AppRouter &router);

}  // namespace pp::svd

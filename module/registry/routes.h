// SPDX-License-Identifier: MIT
// Patch registry endpoints (DESIGN.md §3 "Patches"): register, the two
// pending-record lookups, verify, transfer of ownership, unlockable content.
// Handlers keep the contract's order of checks (credentials, then body, then
// resources), then call the store (module/store/patches.h, pending.h,
// content.h); MariaDB or the KMS being away is a 503. Bodies and signatures
// are never logged or echoed.
#pragma once

#include "app/context.h"

namespace pp::registry {

void add_routes(app::AppRouter &router);

}  // namespace pp::registry

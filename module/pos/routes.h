// SPDX-License-Identifier: MIT
// Point-of-sale claim endpoints (DESIGN.md §3 "Point of sale claim"): a
// customer signs a claim intent, a shop with the API key approves it, and the
// approval queues a POS transfer of the patch to the customer's address in
// the same transaction that takes the patch's transfer lock. Checks run in
// the contract's order; MariaDB being away is a 503. Signatures are never
// logged or echoed.
#pragma once

#include "app/context.h"

namespace pp::pos {

void add_routes(app::AppRouter &router);

}  // namespace pp::pos

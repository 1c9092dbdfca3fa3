// SPDX-License-Identifier: MIT
// Admin endpoints of UTXO health and maintenance (DESIGN.md §3 Admin, **key**):
//   GET  /v1/admin/utxo-health
//   POST /v1/admin/utxo-maintain {action: auto|sync|sweep|split, dryRun?}
// Both run module/admin/maintain.h, the code `patchproof utxo maintain` runs.
#pragma once

#include "app/context.h"

namespace pp::admin {

void add_routes(app::AppRouter &router);

}  // namespace pp::admin

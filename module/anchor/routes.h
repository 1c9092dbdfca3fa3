// SPDX-License-Identifier: MIT
// Batch anchoring over HTTP (DESIGN.md §3): POST /v1/admin/batch-anchor
// (**key**; the run of admin/anchor.h, shared with `patchproof anchor`) and
// the public GET /v1/patches/proof/{recordHash} (a record's Merkle path to
// its anchored batch root). MariaDB away is a 503; nothing here is secret.
#pragma once

#include "app/context.h"

namespace pp::anchor {

void add_routes(app::AppRouter &router);

}  // namespace pp::anchor

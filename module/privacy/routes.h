// SPDX-License-Identifier: MIT
// Privacy endpoints (DESIGN.md §3 "Privacy", **jwt**): GET /v1/privacy/export
// answers everything stored about the token's subject, DELETE
// /v1/privacy/delete removes it in one transaction and revokes every token of
// the subject issued up to that second. Neither takes a body; both answer
// Cache-Control: no-store. MariaDB away is a 503 and changes nothing. The
// subject's data is never logged.
#pragma once

#include "app/context.h"

namespace pp::privacy {

void add_routes(app::AppRouter &router);

}  // namespace pp::privacy

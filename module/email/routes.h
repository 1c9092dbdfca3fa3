// SPDX-License-Identifier: MIT
// Email code login (DESIGN.md §3): POST /v1/auth/request-verification writes
// a fresh code (as a slow hash) and its sealed mail in one transaction;
// POST /v1/auth/submit-verification trades a live code for a JWT with
// sub "email:<address>". The request and failure limits live in memcached
// (per identifier and client address, plus a per-identifier total of
// failures and a per-address total of requests; see email/limits.h); when
// memcached or MariaDB is down both routes answer 503.
#pragma once

#include "app/context.h"

namespace pp::email {

void add_routes(app::AppRouter &router);

}  // namespace pp::email

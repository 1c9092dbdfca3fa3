// SPDX-License-Identifier: MIT
// The HTTP answer of POST /v1/admin/utxo-maintain for a run that returned an
// error (DESIGN.md §3 Admin). In ppadmin, beside the run, so the mapping is
// tested without the FastCGI app.
#pragma once

#include "common/result.h"
#include "http/http.h"

namespace pp::admin {

// conflict 409; invalid_argument (the funding configuration) 503, logged;
// unavailable/timeout 503 "Chain API"; deadlock 503 "Database"; anything
// else is a bug or a broken invariant: 500 INTERNAL, logged with its name.
http::Response maintain_error(Errc e);
// GET /v1/admin/utxo-health reads only MariaDB: unavailable/timeout/deadlock
// 503 "Database", anything else 500 INTERNAL, logged.
http::Response health_error(Errc e);

}  // namespace pp::admin

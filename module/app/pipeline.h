// SPDX-License-Identifier: MIT
// One request end to end, in the contract's order: route (404/405) → CORS
// preflight → per-IP rate limit → authentication (401) → body size (413) →
// handler (which validates the body: 415/400, then resource checks) →
// common headers, metrics and one log line. Nothing throws out of here.
#pragma once

#include <fcgiapp.h>

#include "app/context.h"

namespace pp::app {

void handle_request(AppContext &ctx, FCGX_Request &fcgx);

// The worker's accept loop: returns the process exit code.
int worker_loop(AppContext &ctx, int listen_fd);

}  // namespace pp::app

// SPDX-License-Identifier: MIT
// The start every service process (patchproof-fcgi, patchproof-worker)
// makes before anything else: configuration from the environment, no core
// dumps in production (they would carry the secrets), the secp256k1 context
// and the known-answer self-test that stops a drifted library.
#pragma once

#include <string>

#include "common/result.h"
#include "config/config.h"

namespace pp::server {

// On failure *error_line says what, in one line without any secret.
Result<config::Config> start_service(config::Role role, std::string *error_line);

}  // namespace pp::server

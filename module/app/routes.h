// SPDX-License-Identifier: MIT
#pragma once

#include "app/context.h"

namespace pp::app {

// Every route of patchproof-fcgi, registered in one place.
// Each route declares its auth (none | key | jwt | key+jwt); the pipeline
// enforces it before the body is read.
void add_all_routes(AppRouter &router, const config::Config &cfg);

}  // namespace pp::app

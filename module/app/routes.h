// SPDX-License-Identifier: MIT
#pragma once

#include "app/context.h"

namespace pp::app {

// Every route of patchproof-fcgi, registered in one place.
void add_all_routes(AppRouter &router);

}  // namespace pp::app

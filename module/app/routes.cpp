// SPDX-License-Identifier: MIT
// The route table of patchproof-fcgi: start here to find where a request is
// handled. Each concern registers its own routes.
#include "app/routes.h"

#include "anchor/routes.h"
#include "admin/routes.h"
#include "app/health.h"
#include "email/routes.h"
#include "pos/routes.h"
#include "privacy/routes.h"
#include "registry/routes.h"
#include "svd/routes.h"

namespace pp::app {

void add_all_routes(AppRouter &router, const config::Config &cfg)
{
    add_health_routes(router, cfg);  // module/app/health.cpp
    svd::add_routes(router);     // module/svd/routes.cpp
    registry::add_routes(router);  // module/registry/routes.cpp
    pos::add_routes(router);       // module/pos/routes.cpp
    privacy::add_routes(router);   // module/privacy/routes.cpp
    anchor::add_routes(router);    // module/anchor/routes.cpp
    email::add_routes(router);     // module/email/routes.cpp
    admin::add_routes(router);     // module/admin/routes.cpp
}

}  // namespace pp::app

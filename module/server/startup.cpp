// SPDX-License-Identifier: MIT
#include "server/startup.h"

#include <sys/resource.h>

#include <cstdlib>

#include "crypto/secp256k1.h"
#include "crypto/selftest.h"

namespace pp::server {

Result<config::Config> start_service(config::Role role, std::string *error_line)
{
    // Secrets leave the environment here, before any fork or thread.
    auto cfg = config::load_from_environment(role, error_line);
    if (!cfg)
        return cfg.error();
    if (cfg->env == config::Env::production) {
        rlimit none{0, 0};
        setrlimit(RLIMIT_CORE, &none);
    }
    if (!crypto::secp_init()) {
        *error_line = "cannot create the secp256k1 context";
        return Errc::internal;
    }
    std::string_view failed;
    if (!crypto::self_test(&failed)) {
        *error_line = "self-test failed at " + std::string(failed);
        return Errc::internal;
    }
    return cfg;
}

}  // namespace pp::server

// SPDX-License-Identifier: MIT
// patchproof: the admin CLI. Subcommands grow with the issues; today only
// `selftest`, the known-answer check every PatchProof process runs at start.
#include <cstdio>
#include <cstring>
#include <string_view>

#include "crypto/secp256k1.h"
#include "crypto/selftest.h"

namespace {

int usage()
{
    std::fputs("usage: patchproof selftest\n", stderr);
    return 2;
}

int cmd_selftest()
{
    if (!pp::crypto::secp_init()) {
        std::fputs("selftest: cannot create the secp256k1 context\n", stderr);
        return 1;
    }
    std::string_view failed;
    if (!pp::crypto::self_test(&failed)) {
        std::fprintf(stderr, "selftest: FAILED at %.*s\n", static_cast<int>(failed.size()), failed.data());
        return 1;
    }
    std::puts("selftest: ok (sha256, hmac_sha256, ripemd160, base58, secp256k1, svd, sighash_forkid, "
              "jwt_hs256, canonical_json, merkle)");
    return 0;
}

}  // namespace

int main(int argc, char **argv)
{
    if (argc != 2)
        return usage();
    if (std::strcmp(argv[1], "selftest") == 0)
        return cmd_selftest();
    return usage();
}

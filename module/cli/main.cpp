// SPDX-License-Identifier: MIT
// patchproof: the admin CLI. Subcommands grow with the issues:
//   selftest                      the known-answer check every process runs at start
//   migrate [--sql-dir DIR]       applies sql/NNNN_*.sql (module/cli/migrate_cmd.h)
//   kms keygen --label L [--keystore PATH]
//                                 adds a key to the KMS keystore and prints its
//                                 public facts as one JSON line (never the key)
//   utxo add|reap|stats           the funding pool (module/cli/utxo_cmd.h)
//   anchor [--limit N]            one batch-anchor run (module/cli/anchor_cmd.h)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <jansson.h>
#include <sodium.h>

#include "cli/anchor_cmd.h"
#include "cli/fee_cmd.h"
#include "cli/jobs_cmd.h"
#include "cli/migrate_cmd.h"
#include "cli/utxo_cmd.h"
#include "common/json.h"
#include "crypto/base58.h"
#include "crypto/secp256k1.h"
#include "crypto/selftest.h"
#include "kms/keystore.h"

namespace {

int usage()
{
    std::fputs("usage: patchproof selftest\n"
               "       patchproof migrate [--sql-dir DIR]\n"
               "       patchproof kms keygen --label issuer|funding|change|svd [--keystore PATH]\n"
               "         keystore: --keystore, else $KMS_KEYSTORE, else $KMS_DATA_DIR/keystore.json\n"
               "         master key: $KMS_MASTER_KEY (64 hex) or $KMS_PASSPHRASE\n"
               "       patchproof utxo add|reap|stats|maintain (patchproof utxo for details)\n"
               "       patchproof anchor [--limit N]   one batch-anchor run (exit 3: not signed yet, 4: busy)\n"
               "       patchproof jobs list|retry|check (patchproof jobs for details)\n"
               "       patchproof fee set SATS_PER_KB|show|clear\n",
               stderr);
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

int cmd_kms_keygen(int argc, char **argv)
{
    std::string label, path;
    for (int i = 0; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--label" && i + 1 < argc)
            label = argv[++i];
        else if (a.rfind("--label=", 0) == 0)
            label = std::string(a.substr(8));
        else if (a == "--keystore" && i + 1 < argc)
            path = argv[++i];
        else if (a.rfind("--keystore=", 0) == 0)
            path = std::string(a.substr(11));
        else
            return usage();
    }
    if (!pp::kms::valid_label(label)) {
        std::fputs("kms keygen: --label must be issuer, funding, change or svd\n", stderr);
        return 2;
    }
    if (path.empty()) {
        if (const char *p = std::getenv("KMS_KEYSTORE"); p && *p)
            path = p;
        else if (const char *d = std::getenv("KMS_DATA_DIR"); d && *d)
            path = std::string(d) + "/keystore.json";
    }
    if (path.empty()) {
        std::fputs("kms keygen: no keystore (--keystore, KMS_KEYSTORE or KMS_DATA_DIR)\n", stderr);
        return 2;
    }
    if (!pp::crypto::secp_init()) {
        std::fputs("kms keygen: crypto initialisation failed\n", stderr);
        return 1;
    }
    std::string_view failed;
    if (!pp::crypto::self_test(&failed)) {
        std::fprintf(stderr, "kms keygen: self-test FAILED at %.*s\n", static_cast<int>(failed.size()),
                     failed.data());
        return 1;
    }

    std::string detail;
    auto master = pp::kms::MasterKey::from_env([](const char *n) { return std::getenv(n); }, &detail);
    if (!master) {
        std::fprintf(stderr, "kms keygen: %s\n", detail.c_str());
        return 2;
    }
    auto ks = pp::kms::Keystore::open(path, std::move(*master), pp::kms::Keystore::IfMissing::empty, &detail);
    if (!ks) {
        std::fprintf(stderr, "kms keygen: %s (%.*s)\n", detail.c_str(),
                     static_cast<int>(pp::errc_name(ks.error()).size()), pp::errc_name(ks.error()).data());
        return 1;
    }
    auto key = ks->generate(label, &detail);
    if (!key) {
        std::fprintf(stderr, "kms keygen: %s (%.*s)\n", detail.c_str(),
                     static_cast<int>(pp::errc_name(key.error()).size()), pp::errc_name(key.error()).data());
        return 1;
    }
    const std::string main = pp::crypto::p2pkh_address(key->pubkey, pp::crypto::Network::main);
    const std::string test = pp::crypto::p2pkh_address(key->pubkey, pp::crypto::Network::test);
    pp::JsonPtr out(json_pack("{s:s,s:s,s:s,s:s}", "label", key->label.c_str(), "keyIdentifier",
                              key->key_identifier.c_str(), "addressMain", main.c_str(), "addressTest", test.c_str()));
    char *text = json_dumps(out.get(), JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        return 1;
    std::puts(text);
    std::free(text);
    return 0;
}

}  // namespace

int main(int argc, char **argv)
{
    // Before anything else: config::SecretString uses sodium_malloc, which
    // aborts in a process that has not initialised libsodium.
    if (sodium_init() < 0) {
        std::fputs("patchproof: libsodium initialisation failed\n", stderr);
        return 1;
    }
    if (argc == 2 && std::strcmp(argv[1], "selftest") == 0)
        return cmd_selftest();
    if (argc >= 2 && std::strcmp(argv[1], "migrate") == 0)
        return pp::cli::cmd_migrate(argc - 2, argv + 2);
    if (argc >= 3 && std::strcmp(argv[1], "kms") == 0 && std::strcmp(argv[2], "keygen") == 0)
        return cmd_kms_keygen(argc - 3, argv + 3);
    if (argc >= 2 && std::strcmp(argv[1], "utxo") == 0)
        return pp::cli::cmd_utxo(argc - 2, argv + 2);
    if (argc >= 2 && std::strcmp(argv[1], "anchor") == 0)
        return pp::cli::cmd_anchor(argc - 2, argv + 2);
    if (argc >= 2 && std::strcmp(argv[1], "jobs") == 0)
        return pp::cli::cmd_jobs(argc - 2, argv + 2);
    if (argc >= 2 && std::strcmp(argv[1], "fee") == 0)
        return pp::cli::cmd_fee(argc - 2, argv + 2);
    return usage();
}

// SPDX-License-Identifier: MIT
// The KMS keystore file (module/kms/keystore.cpp), opened with a fixed raw
// master key. If byte 0 is odd, the rest is JSON whose "mac" this target
// recomputes the way a keystore writer would (HMAC-SHA256 under the
// crypto_kdf subkey 2 of context "PPKMSv01" over the sorted canonical JSON
// without "mac"), so the fuzzer gets past the MAC to the sealed entries.
// PROPERTY: every key of an opened keystore signs digests that verify under
// its identifier.
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include "common/json.h"
#include "crypto/canonical_json.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/secp256k1.h"
#include "fuzz_common.h"
#include "kms/keystore.h"

namespace {

using namespace pp;

// Also in tests/fuzz/make-corpus.py, which writes the seed keystores.
constexpr std::string_view kMasterHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

const std::string &file_path()
{
    static const std::string path = [] {
        char tmpl[] = "/tmp/pp-fuzz-keystore-XXXXXX";
        const int fd = ::mkstemp(tmpl);
        if (fd < 0)
            std::abort();
        ::close(fd);
        return std::string(tmpl);
    }();
    return path;
}

std::string with_fresh_mac(std::string_view text)
{
    json_error_t err;
    JsonPtr doc(json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, &err));
    if (!doc || !json_is_object(doc.get()))
        return std::string(text);
    json_object_del(doc.get(), "mac");
    auto input = crypto::canonical_json(doc.get(), crypto::KeyOrder::sorted);
    if (!input)
        return std::string(text);
    uint8_t master[32], mac_key[32];
    if (!crypto::hex_decode_into(master, kMasterHex))
        std::abort();
    static constexpr char kContext[crypto_kdf_CONTEXTBYTES] = {'P', 'P', 'K', 'M', 'S', 'v', '0', '1'};
    crypto_kdf_derive_from_key(mac_key, sizeof mac_key, 2, kContext, master);
    crypto::Hash256 mac{};
    crypto::hmac_sha256(mac, mac_key, crypto::as_bytes(*input));
    json_object_set_new(doc.get(), "mac", json_string(crypto::hex_encode(mac).c_str()));
    char *out = json_dumps(doc.get(), JSON_COMPACT);
    std::string s = out ? out : "";
    std::free(out);
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const bool init = [] {
        fuzz::quiet_logs();
        return crypto::secp_init().ok();
    }();
    FUZZ_CHECK(init, "secp_init");
    if (size == 0)
        return 0;
    const std::string_view rest(reinterpret_cast<const char *>(data + 1), size - 1);
    const std::string text = (data[0] & 1) ? with_fresh_mac(rest) : std::string(rest);

    const int fd = ::open(file_path().c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    FUZZ_CHECK(fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()),
               "cannot write the keystore file");
    ::close(fd);

    auto master = kms::MasterKey::from_hex(kMasterHex);
    FUZZ_CHECK(master.ok(), "master key");
    std::string detail;
    auto ks = kms::Keystore::open(file_path(), std::move(*master), kms::Keystore::IfMissing::fail, &detail);
    if (!ks)
        return 0;
    const crypto::Hash256 digest = crypto::sha256(crypto::as_bytes(text));
    for (const kms::KeyInfo &k : ks->keys()) {
        FUZZ_CHECK(kms::valid_label(k.label), "opened a key with an unknown label");
        auto pk = crypto::parse_pubkey(k.pubkey);
        FUZZ_CHECK(pk.ok(), "key identifier is not a point");
        auto der = ks->sign(k, digest);
        FUZZ_CHECK(der && crypto::ecdsa_verify_der(*der, digest, *pk).ok(), "a keystore signature does not verify");
        FUZZ_CHECK(ks->find(k.key_identifier) != nullptr, "find by identifier");
    }
    return 0;
}

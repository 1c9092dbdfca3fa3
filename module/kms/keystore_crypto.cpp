// SPDX-License-Identifier: MIT
// The keystore's cryptography: the master key (raw, or Argon2id from a
// passphrase), the subkeys derived from it, the document MAC and the sealing
// of each private key (XChaCha20-Poly1305).
#include <sodium.h>

#include "crypto/canonical_json.h"
#include "crypto/encoding.h"
#include "kms/keystore_internal.h"

namespace pp::kms {
namespace ks {
namespace {

// crypto_kdf context and subkey ids; changing them changes every file.
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES] = {'P', 'P', 'K', 'M', 'S', 'v', '0', '1'};
constexpr uint64_t kSubkeySeal = 1;
constexpr uint64_t kSubkeyMac = 2;

void derive_subkey(Secret<32> &out, uint64_t id, const Secret<32> &master) noexcept
{
    crypto_kdf_derive_from_key(out.data(), out.size(), id, kKdfContext, master.data());
}

// The associated data that binds a sealed key to its public fields.
std::string seal_ad(const KeyInfo &info)
{
    std::string ad = "patchproof-kms v1";
    ad += '\0';
    ad += info.label;
    ad += '\0';
    ad += info.key_identifier;
    ad += '\0';
    ad += std::to_string(info.created_at);
    return ad;
}

}  // namespace

Result<crypto::Hash256> document_mac(const LockedSecret &master, const json_t *doc_without_mac)
{
    auto input = crypto::canonical_json(doc_without_mac, crypto::KeyOrder::sorted);
    if (!input)
        return Errc::parse_error;
    crypto::Hash256 mac{};
    master.use([&](const Secret<32> &mk) {
        Secret<32> mac_key;
        derive_subkey(mac_key, kSubkeyMac, mk);
        crypto::hmac_sha256(mac, mac_key.span(), crypto::as_bytes(*input));
    });
    return mac;
}

void seal_subkey(Secret<32> &out, const LockedSecret &master) noexcept
{
    master.use([&](const Secret<32> &mk) { derive_subkey(out, kSubkeySeal, mk); });
}

bool seal_entry(RawEntry &r, const Secret<32> &sk, const Secret<32> &seal_key) noexcept
{
    const std::string ad = seal_ad(r.info);
    unsigned long long sealed_len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(r.sealed.data(), &sealed_len, sk.data(), sk.size(),
                                               reinterpret_cast<const uint8_t *>(ad.data()), ad.size(), nullptr,
                                               r.nonce.data(), seal_key.data());
    return sealed_len == kSealedBytes;
}

bool open_entry(Secret<32> &sk, const RawEntry &r, const Secret<32> &seal_key) noexcept
{
    const std::string ad = seal_ad(r.info);
    unsigned long long out_len = 0;
    return crypto_aead_xchacha20poly1305_ietf_decrypt(sk.data(), &out_len, nullptr, r.sealed.data(), r.sealed.size(),
                                                      reinterpret_cast<const uint8_t *>(ad.data()), ad.size(),
                                                      r.nonce.data(), seal_key.data()) == 0 &&
           out_len == 32;
}

}  // namespace ks

using ks::set_detail;

Result<const ks::LockedSecret *> MasterKey::Impl::key_for(const std::optional<ks::Kdf> &kdf,
                                                              std::string *detail)
{
    if (!passphrase_mode) {
        if (kdf) {
            set_detail(detail, "the keystore is protected by a passphrase; set KMS_PASSPHRASE, not KMS_MASTER_KEY");
            return Errc::invalid_argument;
        }
        return &direct;
    }
    if (!kdf) {
        set_detail(detail, "the keystore uses a raw master key; set KMS_MASTER_KEY, not KMS_PASSPHRASE");
        return Errc::invalid_argument;
    }
    if (derived_for && derived_for->salt == kdf->salt && derived_for->opslimit == kdf->opslimit &&
        derived_for->memlimit == kdf->memlimit)
        return &derived;
    if (kdf->opslimit < crypto_pwhash_OPSLIMIT_MIN || kdf->opslimit > ks::kMaxOpslimit ||
        kdf->memlimit < crypto_pwhash_MEMLIMIT_MIN || kdf->memlimit > ks::kMaxMemlimit) {
        set_detail(detail, "keystore kdf cost out of bounds");
        return Errc::parse_error;
    }
    crypto::Secret<32> key;
    const auto pw = passphrase.bytes();
    if (crypto_pwhash(key.data(), key.size(), reinterpret_cast<const char *>(pw.data()), pw.size(),
                      kdf->salt.data(), kdf->opslimit, kdf->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        set_detail(detail, "crypto_pwhash failed (out of memory?)");
        return Errc::internal;
    }
    if (!derived.store(key.span()))
        return Errc::internal;
    derived_for = *kdf;
    return &derived;
}

MasterKey::MasterKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MasterKey::MasterKey(MasterKey &&) noexcept = default;
MasterKey &MasterKey::operator=(MasterKey &&) noexcept = default;
MasterKey::~MasterKey() = default;

bool MasterKey::uses_passphrase() const noexcept { return impl_ && impl_->passphrase_mode; }

Result<MasterKey> MasterKey::from_hex(std::string_view hex64)
{
    crypto::Secret<32> key;
    if (auto r = crypto::hex_decode_into(key.span(), hex64); !r)
        return r.error();
    auto impl = std::make_unique<Impl>();
    if (!impl->direct.store(key.span()))
        return Errc::internal;
    return MasterKey(std::move(impl));
}

Result<MasterKey> MasterKey::from_passphrase(std::string_view passphrase, KdfLimits limits)
{
    if (passphrase.empty())
        return Errc::invalid_argument;
    auto impl = std::make_unique<Impl>();
    impl->passphrase_mode = true;
    impl->passphrase = config::SecretString(passphrase);
    impl->limits = limits;
    if (impl->passphrase.empty())
        return Errc::internal;  // sodium_malloc failed
    return MasterKey(std::move(impl));
}

Result<MasterKey> MasterKey::from_env(const std::function<const char *(const char *)> &getenv,
                                      std::string *detail)
{
    const char *hex = getenv("KMS_MASTER_KEY");
    const char *pass = getenv("KMS_PASSPHRASE");
    const bool have_hex = hex && *hex;
    const bool have_pass = pass && *pass;
    if (have_hex && have_pass) {
        set_detail(detail, "set only one of KMS_MASTER_KEY and KMS_PASSPHRASE");
        return Errc::invalid_argument;
    }
    if (have_hex) {
        auto mk = from_hex(hex);
        if (!mk)
            set_detail(detail, "KMS_MASTER_KEY must be 64 hex digits (32 bytes)");
        return mk;
    }
    if (have_pass)
        return from_passphrase(pass);
    set_detail(detail, "KMS_MASTER_KEY or KMS_PASSPHRASE is required");
    return Errc::invalid_argument;
}

}  // namespace pp::kms

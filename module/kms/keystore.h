// SPDX-License-Identifier: MIT
// The KMS keystore: every private key PatchProof uses, encrypted at rest in
// one JSON file. Linked only into patchproof-kms and the `patchproof` CLI;
// the API process never links it, so it can never load a private key.
//
// File (version 1, written atomically: temp file + fsync + rename, mode 0600):
//   {"format":"patchproof-kms-keystore","version":1,
//    "kdf":null | {"alg":"argon2id13","salt":hex16,"opslimit":N,"memlimit":N},
//    "keys":[{"label","key_identifier","created_at","nonce","sealed"}],
//    "mac":hex32}
// The 32-byte master key comes from KMS_MASTER_KEY (64 hex) or from
// KMS_PASSPHRASE through crypto_pwhash (Argon2id) with the stored salt. Two
// subkeys are derived from it (crypto_kdf): one seals each private key with
// XChaCha20-Poly1305 (the label, identifier and creation time are the
// associated data, so an entry cannot be relabelled), one MACs the whole
// document (HMAC-SHA256 over its sorted canonical JSON without "mac"), so
// removing, reordering or editing entries is detected as well. A wrong master
// key and a tampered file both give Errc::verify_failed: they cannot be told
// apart, and saying which would help an attacker.
//
// Memory: private keys and the master key live in sodium_malloc pages
// (guarded, locked, wiped on free) that are PROT_NONE except while in use.
// Ownership: a Keystore owns its MasterKey and every key; the KeyInfo
// pointers it hands out stay valid until the next refresh() or generate().
// Not thread-safe (one per process; workers of the prefork pool each use the
// copy they inherited).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "crypto/hash.h"
#include "crypto/secp256k1.h"
#include "crypto/secret.h"

namespace pp::kms {

// The labels of DESIGN.md: issuer signatures, funding and change inputs, SVD PMS.
inline constexpr std::string_view kKeyLabels[] = {"issuer", "funding", "change", "svd"};
bool valid_label(std::string_view label) noexcept;

// Argon2id cost used when a passphrase keystore is created; a stored file
// keeps its own parameters (within the bounds checked on load).
struct KdfLimits {
    unsigned long long opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
    size_t memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
};

// The secret that unlocks a keystore. Move-only; never printable.
class MasterKey {
public:
    // Exactly 64 hex digits (either case), else bad_hex / bad_length.
    static Result<MasterKey> from_hex(std::string_view hex64);
    // Non-empty passphrase; the key is derived when a file's salt is known.
    static Result<MasterKey> from_passphrase(std::string_view passphrase, KdfLimits limits = {});
    // KMS_MASTER_KEY or KMS_PASSPHRASE (exactly one). *detail names the
    // variable at fault, never a value.
    static Result<MasterKey> from_env(const std::function<const char *(const char *)> &getenv,
                                      std::string *detail);

    MasterKey(MasterKey &&) noexcept;
    MasterKey &operator=(MasterKey &&) noexcept;
    ~MasterKey();

    bool uses_passphrase() const noexcept;

    struct Impl;

private:
    explicit MasterKey(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    friend class Keystore;
};

// Public facts about one key: safe to log and to serve from GET /keys.
struct KeyInfo {
    std::string label;
    std::string key_identifier;  // compressed public key, lowercase hex
    crypto::PubKey33 pubkey{};
    int64_t created_at = 0;      // unix seconds
};

class Keystore {
public:
    enum class IfMissing { fail, empty };

    // Reads and verifies `path`. A missing file is not_found, or with
    // IfMissing::empty an empty keystore that generate() will create.
    // Errors: not_found, verify_failed (wrong master key or tampered file),
    // bad_version, parse_error (malformed file), invalid_argument (master
    // key kind does not match the file), unavailable (I/O). *detail is a
    // one-line, secret-free explanation (may be null).
    static Result<Keystore> open(std::string path, MasterKey master, IfMissing if_missing,
                                 std::string *detail);

    Keystore(Keystore &&) noexcept;
    Keystore &operator=(Keystore &&) noexcept;
    ~Keystore();

    const std::string &path() const noexcept;
    const std::vector<KeyInfo> &keys() const noexcept;
    // By compressed point, or by its hex (either case); null when unknown.
    const KeyInfo *find(std::span<const uint8_t, 33> pubkey) const noexcept;
    const KeyInfo *find(std::string_view key_identifier_hex) const noexcept;
    // The newest key with this label (ties: the later entry); null when none.
    const KeyInfo *latest(std::string_view label) const noexcept;

    // RFC 6979, low-S, strict DER over digest32 as is. `key` must come from
    // this keystore (else not_found).
    Result<Bytes> sign(const KeyInfo &key, std::span<const uint8_t, 32> digest32) const;
    // S of DESIGN.md §3 with `pms_key` (a key of this keystore) as PMS.
    Result<crypto::Secret<32>> svd_shared_secret(const KeyInfo &pms_key, const crypto::PublicKey &pmc,
                                                 std::span<const uint8_t> m) const;

    // Adds a fresh key under an exclusive lock (path + ".lock"): re-reads the
    // file so keys added by another process survive, then writes it back
    // atomically. Needs secp_init().
    Result<KeyInfo> generate(std::string_view label, std::string *detail);

    // Re-reads the file when its inode, size or mtime changed (a keygen while
    // the KMS runs). true when reloaded; on error the old keys stay in use.
    Result<bool> refresh(std::string *detail);

    struct Impl;

private:
    explicit Keystore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// "2024-03-01T12:00:00Z"
std::string format_utc(int64_t unix_seconds);

}  // namespace pp::kms

// SPDX-License-Identifier: MIT
// Internals shared by the keystore's three sources (not a public interface):
//   keystore_crypto.cpp  MasterKey, Argon2id, subkeys, the document MAC, sealing
//   keystore_file.cpp    the JSON file format: parse, serialise, atomic write
//   keystore.cpp         the store operations of Keystore (open, find, sign, generate, refresh)
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <ctime>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sodium.h>

#include "common/json.h"
#include "config/config.h"
#include "kms/keystore.h"

namespace pp::kms::ks {

using crypto::Secret;

inline constexpr std::string_view kFormat = "patchproof-kms-keystore";
inline constexpr int kVersion = 1;
inline constexpr size_t kMaxFileBytes = 4u << 20;  // thousands of keys; bounds a hostile file
inline constexpr size_t kSaltBytes = crypto_pwhash_SALTBYTES;
inline constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
inline constexpr size_t kSealedBytes = 32 + crypto_aead_xchacha20poly1305_ietf_ABYTES;
// Bounds for the KDF cost read from a file: a tampered file must not make
// the KMS allocate gigabytes or spin for minutes before the MAC check fails.
inline constexpr unsigned long long kMaxOpslimit = 16;
inline constexpr size_t kMaxMemlimit = crypto_pwhash_MEMLIMIT_SENSITIVE;  // 1 GiB

inline void set_detail(std::string *detail, std::string text)
{
    if (detail)
        *detail = std::move(text);
}

// Secret<32> in sodium_malloc memory: guard pages, mlock'ed, wiped on free,
// and PROT_NONE whenever no one is using it, so a stray read (or a core
// dump) does not reach it.
class LockedSecret {
public:
    LockedSecret()
    {
        void *p = sodium_malloc(sizeof(Secret<32>));
        if (!p)
            return;
        s_ = new (p) Secret<32>();
        sodium_mprotect_noaccess(s_);
    }
    ~LockedSecret()
    {
        if (!s_)
            return;
        sodium_mprotect_readwrite(s_);
        s_->~Secret<32>();
        sodium_free(s_);
    }
    LockedSecret(const LockedSecret &) = delete;
    LockedSecret &operator=(const LockedSecret &) = delete;

    bool ok() const noexcept { return s_ != nullptr; }

    // Fills the secret from `src`; false when allocation had failed.
    bool store(std::span<const uint8_t, 32> src) noexcept
    {
        if (!s_)
            return false;
        sodium_mprotect_readwrite(s_);
        std::memcpy(s_->data(), src.data(), 32);
        sodium_mprotect_noaccess(s_);
        return true;
    }

    // Runs f(const Secret<32>&) with the page readable, and locks it again
    // on every way out.
    template <typename F>
    auto use(F &&f) const
    {
        struct Relock {
            Secret<32> *s;
            ~Relock() { sodium_mprotect_noaccess(s); }
        };
        sodium_mprotect_readonly(s_);
        Relock relock{s_};
        return f(static_cast<const Secret<32> &>(*s_));
    }

private:
    Secret<32> *s_ = nullptr;
};

struct Kdf {
    std::array<uint8_t, kSaltBytes> salt{};
    unsigned long long opslimit = 0;
    size_t memlimit = 0;
};

// One entry as stored: public fields plus the sealed secret key.
struct RawEntry {
    KeyInfo info;
    std::array<uint8_t, kNonceBytes> nonce{};
    std::array<uint8_t, kSealedBytes> sealed{};
};

struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = -1;
    timespec mtime{};
    bool exists = false;

    bool same(const FileId &o) const noexcept
    {
        return exists == o.exists && dev == o.dev && ino == o.ino && size == o.size &&
               mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec;
    }
};

inline FileId file_id(const struct stat &st)
{
    FileId id;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    id.size = st.st_size;
    id.mtime = st.st_mtim;
    id.exists = true;
    return id;
}

// Owns a file descriptor.
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    int get() const noexcept { return fd_; }
    void reset() noexcept
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
    }
    int release() noexcept { return std::exchange(fd_, -1); }

private:
    int fd_;
};

// --- keystore_crypto.cpp

// HMAC-SHA256 of the sorted canonical JSON of `doc_without_mac` under the
// MAC subkey of `master`; parse_error when the document is not canonical.
Result<crypto::Hash256> document_mac(const LockedSecret &master, const json_t *doc_without_mac);
// The sealing subkey of `master`.
void seal_subkey(Secret<32> &out, const LockedSecret &master) noexcept;
// Seals sk into r.sealed under r.nonce, bound to r.info; false on failure.
bool seal_entry(RawEntry &r, const Secret<32> &sk, const Secret<32> &seal_key) noexcept;
// Opens r.sealed into sk; false when the key or the entry is wrong.
bool open_entry(Secret<32> &sk, const RawEntry &r, const Secret<32> &seal_key) noexcept;

// --- keystore_file.cpp

// temp file in the same directory, fsync, rename, fsync the directory.
Result<void> write_atomic(const std::string &path, std::string_view text, std::string *detail);

}  // namespace pp::kms::ks

namespace pp::kms {

struct MasterKey::Impl {
    bool passphrase_mode = false;
    ks::LockedSecret direct;         // KMS_MASTER_KEY
    config::SecretString passphrase;     // KMS_PASSPHRASE
    KdfLimits limits;                    // for a keystore created from now on
    // The key derived for the last salt and cost seen, so a reload of the
    // same file costs no second Argon2 run.
    ks::LockedSecret derived;
    std::optional<ks::Kdf> derived_for;

    // The master key for a file with this kdf (none: a raw master key).
    Result<const ks::LockedSecret *> key_for(const std::optional<ks::Kdf> &kdf, std::string *detail);
};

struct Keystore::Impl {
    struct Entry {
        ks::RawEntry raw;
        std::unique_ptr<ks::LockedSecret> sk;
    };
    // Everything read from one version of the file; replaced as a whole.
    struct State {
        ks::FileId id;
        std::optional<ks::Kdf> kdf;
        std::vector<Entry> entries;
        std::vector<KeyInfo> infos;  // parallel to entries
    };

    std::string path;
    MasterKey master;
    State state;

    Impl(std::string p, MasterKey m) : path(std::move(p)), master(std::move(m)) {}

    std::string lock_path() const { return path + ".lock"; }

    // keystore_file.cpp
    Result<State> load(IfMissing if_missing, std::string *detail);
    Result<State> parse(const std::string &text, const ks::FileId &id, std::string *detail);
    Result<void> save(const State &st, std::string *detail);
    Result<JsonPtr> to_json(const State &st) const;

    std::optional<size_t> index_of(const KeyInfo &key) const noexcept
    {
        const auto &v = state.infos;
        // Only pointers into our own array are accepted.
        for (size_t i = 0; i < v.size(); ++i)
            if (&v[i] == &key)
                return i;
        return std::nullopt;
    }

    // The master key for st's kdf (MasterKey::Impl is private to MasterKey).
    Result<const ks::LockedSecret *> master_for(const State &st, std::string *detail)
    {
        return master.impl_->key_for(st.kdf, detail);
    }
};

}  // namespace pp::kms

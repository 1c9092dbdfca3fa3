// SPDX-License-Identifier: MIT
// The keystore's operations: open, look-ups, signing, key generation and
// reload. The crypto is in keystore_crypto.cpp, the file format in
// keystore_file.cpp.
#include "kms/keystore.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include <sodium.h>

#include "crypto/encoding.h"
#include "crypto/svd.h"
#include "kms/keystore_internal.h"

namespace pp::kms {

using crypto::Secret;
using ks::set_detail;

bool valid_label(std::string_view label) noexcept
{
    for (auto l : kKeyLabels)
        if (l == label)
            return true;
    return false;
}

std::string format_utc(int64_t unix_seconds)
{
    const time_t t = static_cast<time_t>(unix_seconds);
    tm utc{};
    gmtime_r(&t, &utc);
    char buf[32];
    const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return std::string(buf, n);
}

Keystore::Keystore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Keystore::Keystore(Keystore &&) noexcept = default;
Keystore &Keystore::operator=(Keystore &&) noexcept = default;
Keystore::~Keystore() = default;

Result<Keystore> Keystore::open(std::string path, MasterKey master, IfMissing if_missing, std::string *detail)
{
    if (path.empty() || !master.impl_) {
        set_detail(detail, "no keystore path");
        return Errc::invalid_argument;
    }
    auto impl = std::make_unique<Impl>(std::move(path), std::move(master));
    auto st = impl->load(if_missing, detail);
    if (!st)
        return st.error();
    impl->state = std::move(*st);
    return Keystore(std::move(impl));
}

const std::string &Keystore::path() const noexcept { return impl_->path; }
const std::vector<KeyInfo> &Keystore::keys() const noexcept { return impl_->state.infos; }

const KeyInfo *Keystore::find(std::span<const uint8_t, 33> pubkey) const noexcept
{
    for (const KeyInfo &k : impl_->state.infos)
        if (std::equal(k.pubkey.begin(), k.pubkey.end(), pubkey.begin()))
            return &k;
    return nullptr;
}

const KeyInfo *Keystore::find(std::string_view key_identifier_hex) const noexcept
{
    crypto::PubKey33 pk{};
    if (!crypto::hex_decode_into(pk, key_identifier_hex))
        return nullptr;
    return find(std::span<const uint8_t, 33>(pk));
}

const KeyInfo *Keystore::latest(std::string_view label) const noexcept
{
    const KeyInfo *best = nullptr;
    for (const KeyInfo &k : impl_->state.infos)
        if (k.label == label && (!best || k.created_at >= best->created_at))
            best = &k;
    return best;
}

Result<Bytes> Keystore::sign(const KeyInfo &key, std::span<const uint8_t, 32> digest32) const
{
    const auto i = impl_->index_of(key);
    if (!i)
        return Errc::not_found;
    return impl_->state.entries[*i].sk->use(
        [&](const Secret<32> &sk) { return crypto::ecdsa_sign_der(sk, digest32); });
}

Result<crypto::Secret<32>> Keystore::svd_shared_secret(const KeyInfo &pms_key, const crypto::PublicKey &pmc,
                                                       std::span<const uint8_t> m) const
{
    const auto i = impl_->index_of(pms_key);
    if (!i)
        return Errc::not_found;
    return impl_->state.entries[*i].sk->use([&](const Secret<32> &pms) {
        return crypto::svd_shared_secret_server(pms, pms_key.pubkey, pmc, m);
    });
}

Result<KeyInfo> Keystore::generate(std::string_view label, std::string *detail)
{
    if (!valid_label(label)) {
        set_detail(detail, "label must be one of issuer, funding, change, svd");
        return Errc::invalid_argument;
    }
    // Serialise read-modify-write between concurrent keygens.
    const std::string lock = impl_->lock_path();
    ks::Fd lock_fd(::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (lock_fd.get() < 0 || ::flock(lock_fd.get(), LOCK_EX) != 0) {
        set_detail(detail, "cannot lock " + lock + ": " + std::strerror(errno));
        return Errc::unavailable;
    }
    auto fresh = impl_->load(IfMissing::empty, detail);
    if (!fresh)
        return fresh.error();
    Impl::State st = std::move(*fresh);
    if (!st.id.exists && impl_->master.uses_passphrase()) {
        ks::Kdf k;
        randombytes_buf(k.salt.data(), k.salt.size());
        k.opslimit = impl_->master.impl_->limits.opslimit;
        k.memlimit = impl_->master.impl_->limits.memlimit;
        st.kdf = k;
    }

    Secret<32> sk;
    do {
        randombytes_buf(sk.data(), sk.size());
    } while (!crypto::seckey_valid(sk));
    auto pk = crypto::pubkey_from_seckey(sk);
    if (!pk)
        return Errc::internal;

    Impl::Entry e;
    e.raw.info.label = std::string(label);
    e.raw.info.pubkey = crypto::serialize_pubkey(*pk);
    e.raw.info.key_identifier = crypto::hex_encode(e.raw.info.pubkey);
    e.raw.info.created_at = static_cast<int64_t>(::time(nullptr));
    randombytes_buf(e.raw.nonce.data(), e.raw.nonce.size());

    auto master_key = impl_->master.impl_->key_for(st.kdf, detail);
    if (!master_key)
        return master_key.error();
    Secret<32> seal_key;
    ks::seal_subkey(seal_key, **master_key);
    const bool sealed = ks::seal_entry(e.raw, sk, seal_key);
    e.sk = std::make_unique<ks::LockedSecret>();
    if (!sealed || !e.sk->store(sk.span()))
        return Errc::internal;
    KeyInfo info = e.raw.info;
    st.infos.push_back(info);
    st.entries.push_back(std::move(e));

    if (auto r = impl_->save(st, detail); !r)
        return r.error();
    struct stat sb{};
    if (::stat(impl_->path.c_str(), &sb) == 0)
        st.id = ks::file_id(sb);
    impl_->state = std::move(st);
    return info;
}

Result<bool> Keystore::refresh(std::string *detail)
{
    struct stat sb{};
    ks::FileId now;
    if (::stat(impl_->path.c_str(), &sb) == 0)
        now = ks::file_id(sb);
    else if (errno != ENOENT)
        return Errc::unavailable;
    if (now.same(impl_->state.id))
        return false;
    // Whatever happens next, this version of the file has been looked at:
    // an error is reported once, not on every request until it is fixed.
    impl_->state.id = now;
    if (!now.exists) {
        // Deleted under us: keep serving the keys we have rather than
        // failing every signature; the operator sees the warning.
        set_detail(detail, impl_->path + ": keystore file disappeared; keeping the loaded keys");
        return Errc::not_found;
    }
    auto st = impl_->load(IfMissing::fail, detail);
    if (!st)
        return st.error();
    impl_->state = std::move(*st);
    return true;
}

}  // namespace pp::kms

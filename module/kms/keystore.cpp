// SPDX-License-Identifier: MIT
#include "kms/keystore.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>
#include <optional>
#include <utility>

#include <sodium.h>

#include "common/json.h"
#include "config/config.h"
#include "crypto/canonical_json.h"
#include "crypto/encoding.h"
#include "crypto/svd.h"

namespace pp::kms {
namespace {

using crypto::Secret;

constexpr std::string_view kFormat = "patchproof-kms-keystore";
constexpr int kVersion = 1;
constexpr size_t kMaxFileBytes = 4u << 20;  // thousands of keys; bounds a hostile file
constexpr size_t kSaltBytes = crypto_pwhash_SALTBYTES;
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kSealedBytes = 32 + crypto_aead_xchacha20poly1305_ietf_ABYTES;
// Bounds for the KDF cost read from a file: a tampered file must not make
// the KMS allocate gigabytes or spin for minutes before the MAC check fails.
constexpr unsigned long long kMaxOpslimit = 16;
constexpr size_t kMaxMemlimit = crypto_pwhash_MEMLIMIT_SENSITIVE;  // 1 GiB
// crypto_kdf context and subkey ids; changing them changes every file.
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES] = {'P', 'P', 'K', 'M', 'S', 'v', '0', '1'};
constexpr uint64_t kSubkeySeal = 1;
constexpr uint64_t kSubkeyMac = 2;

void set_detail(std::string *detail, std::string text)
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

FileId file_id(const struct stat &st)
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

void derive_subkey(Secret<32> &out, uint64_t id, const Secret<32> &master) noexcept
{
    crypto_kdf_derive_from_key(out.data(), out.size(), id, kKdfContext, master.data());
}

Result<std::string> mac_input(const json_t *doc_without_mac)
{
    return crypto::canonical_json(doc_without_mac, crypto::KeyOrder::sorted);
}

}  // namespace

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

// ---------------------------------------------------------------------------
// MasterKey

struct MasterKey::Impl {
    bool passphrase_mode = false;
    LockedSecret direct;                 // KMS_MASTER_KEY
    config::SecretString passphrase;     // KMS_PASSPHRASE
    KdfLimits limits;                    // for a keystore created from now on
    // The key derived for the last salt and cost seen, so a reload of the
    // same file costs no second Argon2 run.
    LockedSecret derived;
    std::optional<Kdf> derived_for;

    Result<const LockedSecret *> key_for(const std::optional<Kdf> &kdf, std::string *detail)
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
        if (kdf->opslimit < crypto_pwhash_OPSLIMIT_MIN || kdf->opslimit > kMaxOpslimit ||
            kdf->memlimit < crypto_pwhash_MEMLIMIT_MIN || kdf->memlimit > kMaxMemlimit) {
            set_detail(detail, "keystore kdf cost out of bounds");
            return Errc::parse_error;
        }
        Secret<32> key;
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
};

MasterKey::MasterKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MasterKey::MasterKey(MasterKey &&) noexcept = default;
MasterKey &MasterKey::operator=(MasterKey &&) noexcept = default;
MasterKey::~MasterKey() = default;

bool MasterKey::uses_passphrase() const noexcept { return impl_ && impl_->passphrase_mode; }

Result<MasterKey> MasterKey::from_hex(std::string_view hex64)
{
    Secret<32> key;
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

// ---------------------------------------------------------------------------
// Keystore

struct Keystore::Impl {
    struct Entry {
        RawEntry raw;
        std::unique_ptr<LockedSecret> sk;
    };
    // Everything read from one version of the file; replaced as a whole.
    struct State {
        FileId id;
        std::optional<Kdf> kdf;
        std::vector<Entry> entries;
        std::vector<KeyInfo> infos;  // parallel to entries
    };

    std::string path;
    MasterKey master;
    State state;

    Impl(std::string p, MasterKey m) : path(std::move(p)), master(std::move(m)) {}

    std::string lock_path() const { return path + ".lock"; }

    Result<State> load(IfMissing if_missing, std::string *detail);
    Result<State> parse(const std::string &text, const FileId &id, std::string *detail);
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
};

namespace {

Result<std::string_view> get_string(const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);
    if (!json_is_string(v))
        return Errc::parse_error;
    return std::string_view(json_string_value(v), json_string_length(v));
}

Result<long long> get_int(const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);
    if (!json_is_integer(v))
        return Errc::parse_error;
    return static_cast<long long>(json_integer_value(v));
}

bool only_fields(const json_t *obj, std::initializer_list<std::string_view> allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach(const_cast<json_t *>(obj), key, value) {
        bool known = false;
        for (auto a : allowed)
            known = known || a == key;
        if (!known)
            return false;
    }
    return true;
}

Result<void> write_all(int fd, std::string_view text)
{
    while (!text.empty()) {
        const ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return Errc::unavailable;
        text.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

// temp file in the same directory, fsync, rename, fsync the directory: a
// crash leaves either the old or the new keystore, never half of one.
Result<void> write_atomic(const std::string &path, std::string_view text, std::string *detail)
{
    std::string tmp = path + ".tmp.XXXXXX";
    Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));  // mode 0600
    if (fd.get() < 0) {
        set_detail(detail, "cannot create a temporary file next to " + path + ": " + std::strerror(errno));
        return Errc::unavailable;
    }
    const bool ok = ::fchmod(fd.get(), 0600) == 0 && write_all(fd.get(), text).ok() && ::fsync(fd.get()) == 0;
    const int err = errno;
    if (!ok || ::close(fd.release()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
        set_detail(detail, "cannot write " + path + ": " + std::strerror(ok ? errno : err));
        ::unlink(tmp.c_str());
        return Errc::unavailable;
    }
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd.get() >= 0)
        ::fsync(dfd.get());  // best effort: the rename is already visible
    return {};
}

}  // namespace

Result<Keystore::Impl::State> Keystore::Impl::parse(const std::string &text, const FileId &id,
                                                    std::string *detail)
{
    auto bad = [&](const char *what) {
        set_detail(detail, path + ": " + what);
        return Errc::parse_error;
    };
    json_error_t jerr;
    JsonPtr doc(json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, &jerr));
    if (!doc || !json_is_object(doc.get()))
        return bad("not a JSON object");
    if (!only_fields(doc.get(), {"format", "version", "kdf", "keys", "mac"}))
        return bad("unknown field");
    auto format = get_string(doc.get(), "format");
    if (!format || *format != kFormat)
        return bad("not a patchproof keystore");
    auto version = get_int(doc.get(), "version");
    if (!version)
        return bad("no version");
    if (*version != kVersion) {
        set_detail(detail, path + ": unsupported keystore version");
        return Errc::bad_version;
    }

    State st;
    st.id = id;
    const json_t *kdf = json_object_get(doc.get(), "kdf");
    if (!kdf)
        return bad("no kdf");
    if (!json_is_null(kdf)) {
        if (!json_is_object(kdf) || !only_fields(kdf, {"alg", "salt", "opslimit", "memlimit"}))
            return bad("malformed kdf");
        auto alg = get_string(kdf, "alg");
        auto salt = get_string(kdf, "salt");
        auto ops = get_int(kdf, "opslimit");
        auto mem = get_int(kdf, "memlimit");
        if (!alg || *alg != "argon2id13" || !salt || !ops || !mem || *ops <= 0 || *mem <= 0)
            return bad("malformed kdf");
        Kdf k;
        if (!crypto::hex_decode_into(k.salt, *salt))
            return bad("malformed kdf salt");
        k.opslimit = static_cast<unsigned long long>(*ops);
        k.memlimit = static_cast<size_t>(*mem);
        st.kdf = k;
    }

    const json_t *keys = json_object_get(doc.get(), "keys");
    if (!json_is_array(keys))
        return bad("no keys array");
    std::vector<RawEntry> raws;
    size_t i;
    json_t *item;
    json_array_foreach(keys, i, item) {
        if (!json_is_object(item) ||
            !only_fields(item, {"label", "key_identifier", "created_at", "nonce", "sealed"}))
            return bad("malformed key entry");
        auto label = get_string(item, "label");
        auto kid = get_string(item, "key_identifier");
        auto created = get_int(item, "created_at");
        auto nonce = get_string(item, "nonce");
        auto sealed = get_string(item, "sealed");
        if (!label || !kid || !created || !nonce || !sealed || !valid_label(*label))
            return bad("malformed key entry");
        RawEntry r;
        r.info.label = std::string(*label);
        if (!crypto::hex_decode_into(r.info.pubkey, *kid) || !crypto::hex_decode_into(r.nonce, *nonce) ||
            !crypto::hex_decode_into(r.sealed, *sealed))
            return bad("malformed key entry");
        r.info.key_identifier = crypto::hex_encode(r.info.pubkey);
        r.info.created_at = *created;
        for (const RawEntry &prev : raws)
            if (prev.info.pubkey == r.info.pubkey)
                return bad("duplicate key");
        raws.push_back(std::move(r));
    }

    auto mac_hex = get_string(doc.get(), "mac");
    crypto::Hash256 mac_stored{};
    if (!mac_hex || !crypto::hex_decode_into(mac_stored, *mac_hex))
        return bad("no mac");

    auto master_key = master.impl_->key_for(st.kdf, detail);
    if (!master_key)
        return master_key.error();

    // Whole-document MAC first: nothing is decrypted from a file we did not write.
    JsonPtr unsigned_doc(json_deep_copy(doc.get()));
    json_object_del(unsigned_doc.get(), "mac");
    auto input = mac_input(unsigned_doc.get());
    if (!input)
        return bad("not canonical");
    crypto::Hash256 mac{};
    (*master_key)->use([&](const Secret<32> &mk) {
        Secret<32> mac_key;
        derive_subkey(mac_key, kSubkeyMac, mk);
        crypto::hmac_sha256(mac, mac_key.span(), crypto::as_bytes(*input));
    });
    if (!crypto::equal_ct(mac, mac_stored)) {
        set_detail(detail, path + ": wrong master key, or the file was modified");
        return Errc::verify_failed;
    }

    Secret<32> seal_key;
    (*master_key)->use([&](const Secret<32> &mk) { derive_subkey(seal_key, kSubkeySeal, mk); });
    for (RawEntry &r : raws) {
        Secret<32> sk;
        const std::string ad = seal_ad(r.info);
        unsigned long long out_len = 0;
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(sk.data(), &out_len, nullptr, r.sealed.data(),
                                                       r.sealed.size(), reinterpret_cast<const uint8_t *>(ad.data()),
                                                       ad.size(), r.nonce.data(), seal_key.data()) != 0 ||
            out_len != 32) {
            set_detail(detail, path + ": wrong master key, or the file was modified");
            return Errc::verify_failed;
        }
        // The identifier must be this key's point, or /sign would answer
        // with a pubKeyHex that does not match the signature.
        auto pk = crypto::pubkey_from_seckey(sk);
        if (!pk || crypto::serialize_pubkey(*pk) != r.info.pubkey) {
            set_detail(detail, path + ": a key does not match its identifier");
            return Errc::verify_failed;
        }
        Entry e;
        e.raw = std::move(r);
        e.sk = std::make_unique<LockedSecret>();
        if (!e.sk->store(sk.span()))
            return Errc::internal;
        st.infos.push_back(e.raw.info);
        st.entries.push_back(std::move(e));
    }
    return st;
}

Result<Keystore::Impl::State> Keystore::Impl::load(IfMissing if_missing, std::string *detail)
{
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT && if_missing == IfMissing::empty)
            return State{};
        set_detail(detail, path + ": " + std::strerror(errno));
        return errno == ENOENT ? Errc::not_found : Errc::unavailable;
    }
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        set_detail(detail, path + ": not a regular file");
        return Errc::unavailable;
    }
    if (static_cast<size_t>(st.st_size) > kMaxFileBytes) {
        set_detail(detail, path + ": file too large");
        return Errc::parse_error;
    }
    std::string text(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < text.size()) {
        const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += static_cast<size_t>(n);
    }
    if (got != text.size()) {
        set_detail(detail, path + ": short read");
        return Errc::unavailable;
    }
    return parse(text, file_id(st), detail);
}

Result<JsonPtr> Keystore::Impl::to_json(const State &st) const
{
    JsonPtr doc(json_object());
    json_object_set_new(doc.get(), "format", json_stringn(kFormat.data(), kFormat.size()));
    json_object_set_new(doc.get(), "version", json_integer(kVersion));
    if (st.kdf) {
        const std::string salt = crypto::hex_encode(st.kdf->salt);
        json_object_set_new(doc.get(), "kdf",
                            json_pack("{s:s,s:s,s:I,s:I}", "alg", "argon2id13", "salt", salt.c_str(), "opslimit",
                                      json_int_t(st.kdf->opslimit), "memlimit", json_int_t(st.kdf->memlimit)));
    } else {
        json_object_set_new(doc.get(), "kdf", json_null());
    }
    json_t *keys = json_array();
    json_object_set_new(doc.get(), "keys", keys);
    for (const Entry &e : st.entries) {
        const std::string nonce = crypto::hex_encode(e.raw.nonce);
        const std::string sealed = crypto::hex_encode(e.raw.sealed);
        json_array_append_new(keys, json_pack("{s:s,s:s,s:I,s:s,s:s}", "label", e.raw.info.label.c_str(),
                                              "key_identifier", e.raw.info.key_identifier.c_str(), "created_at",
                                              json_int_t(e.raw.info.created_at), "nonce", nonce.c_str(), "sealed",
                                              sealed.c_str()));
    }
    return doc;
}

Result<void> Keystore::Impl::save(const State &st, std::string *detail)
{
    auto doc = to_json(st);
    if (!doc)
        return doc.error();
    auto input = mac_input(doc->get());
    if (!input)
        return Errc::internal;
    auto master_key = master.impl_->key_for(st.kdf, detail);
    if (!master_key)
        return master_key.error();
    crypto::Hash256 mac{};
    (*master_key)->use([&](const Secret<32> &mk) {
        Secret<32> mac_key;
        derive_subkey(mac_key, kSubkeyMac, mk);
        crypto::hmac_sha256(mac, mac_key.span(), crypto::as_bytes(*input));
    });
    json_object_set_new(doc->get(), "mac", json_string(crypto::hex_encode(mac).c_str()));
    char *text = json_dumps(doc->get(), JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text)
        return Errc::internal;
    std::string out(text);
    std::free(text);
    out += '\n';
    return write_atomic(path, out, detail);
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
    Fd lock_fd(::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (lock_fd.get() < 0 || ::flock(lock_fd.get(), LOCK_EX) != 0) {
        set_detail(detail, "cannot lock " + lock + ": " + std::strerror(errno));
        return Errc::unavailable;
    }
    auto fresh = impl_->load(IfMissing::empty, detail);
    if (!fresh)
        return fresh.error();
    Impl::State st = std::move(*fresh);
    if (!st.id.exists && impl_->master.uses_passphrase()) {
        Kdf k;
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
    (*master_key)->use([&](const Secret<32> &mk) { derive_subkey(seal_key, kSubkeySeal, mk); });
    const std::string ad = seal_ad(e.raw.info);
    unsigned long long sealed_len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(e.raw.sealed.data(), &sealed_len, sk.data(), sk.size(),
                                               reinterpret_cast<const uint8_t *>(ad.data()), ad.size(), nullptr,
                                               e.raw.nonce.data(), seal_key.data());
    e.sk = std::make_unique<LockedSecret>();
    if (sealed_len != kSealedBytes || !e.sk->store(sk.span()))
        return Errc::internal;
    KeyInfo info = e.raw.info;
    st.infos.push_back(info);
    st.entries.push_back(std::move(e));

    if (auto r = impl_->save(st, detail); !r)
        return r.error();
    struct stat sb{};
    if (::stat(impl_->path.c_str(), &sb) == 0)
        st.id = file_id(sb);
    impl_->state = std::move(st);
    return info;
}

Result<bool> Keystore::refresh(std::string *detail)
{
    struct stat sb{};
    FileId now;
    if (::stat(impl_->path.c_str(), &sb) == 0)
        now = file_id(sb);
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

// SPDX-License-Identifier: MIT
// The keystore file (format in keystore.h): reading and verifying one
// version of it, serialising a State, and the atomic write.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "crypto/encoding.h"
#include "kms/keystore_internal.h"

namespace pp::kms {
namespace ks {
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

// "kdf" (present, null or an object); the error text, or null when well formed.
const char *parse_kdf(const json_t *kdf, std::optional<Kdf> &out)
{
    if (!kdf)
        return "no kdf";
    if (json_is_null(kdf))
        return nullptr;
    if (!json_is_object(kdf) || !only_fields(kdf, {"alg", "salt", "opslimit", "memlimit"}))
        return "malformed kdf";
    auto alg = get_string(kdf, "alg");
    auto salt = get_string(kdf, "salt");
    auto ops = get_int(kdf, "opslimit");
    auto mem = get_int(kdf, "memlimit");
    if (!alg || *alg != "argon2id13" || !salt || !ops || !mem || *ops <= 0 || *mem <= 0)
        return "malformed kdf";
    Kdf k;
    if (!crypto::hex_decode_into(k.salt, *salt))
        return "malformed kdf salt";
    k.opslimit = static_cast<unsigned long long>(*ops);
    k.memlimit = static_cast<size_t>(*mem);
    out = k;
    return nullptr;
}

// "keys": the stored entries, still sealed; the error text, or null.
const char *parse_entries(const json_t *keys, std::vector<RawEntry> &raws)
{
    if (!json_is_array(keys))
        return "no keys array";
    size_t i;
    json_t *item;
    json_array_foreach(keys, i, item) {
        if (!json_is_object(item) ||
            !only_fields(item, {"label", "key_identifier", "created_at", "nonce", "sealed"}))
            return "malformed key entry";
        auto label = get_string(item, "label");
        auto kid = get_string(item, "key_identifier");
        auto created = get_int(item, "created_at");
        auto nonce = get_string(item, "nonce");
        auto sealed = get_string(item, "sealed");
        if (!label || !kid || !created || !nonce || !sealed || !valid_label(*label))
            return "malformed key entry";
        RawEntry r;
        r.info.label = std::string(*label);
        if (!crypto::hex_decode_into(r.info.pubkey, *kid) || !crypto::hex_decode_into(r.nonce, *nonce) ||
            !crypto::hex_decode_into(r.sealed, *sealed))
            return "malformed key entry";
        r.info.key_identifier = crypto::hex_encode(r.info.pubkey);
        r.info.created_at = *created;
        for (const RawEntry &prev : raws)
            if (prev.info.pubkey == r.info.pubkey)
                return "duplicate key";
        raws.push_back(std::move(r));
    }
    return nullptr;
}

// Opens every entry (after the MAC has been checked) into st.
Result<void> unseal_entries(Keystore::Impl::State &st, std::vector<RawEntry> &raws, const LockedSecret &master,
                            const std::string &path, std::string *detail)
{
    Secret<32> seal_key;
    seal_subkey(seal_key, master);
    for (RawEntry &r : raws) {
        Secret<32> sk;
        if (!open_entry(sk, r, seal_key)) {
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
        Keystore::Impl::Entry e;
        e.raw = std::move(r);
        e.sk = std::make_unique<LockedSecret>();
        if (!e.sk->store(sk.span()))
            return Errc::internal;
        st.infos.push_back(e.raw.info);
        st.entries.push_back(std::move(e));
    }
    return {};
}

}  // namespace

// A crash leaves either the old or the new keystore, never half of one.
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

}  // namespace ks

using ks::set_detail;

Result<Keystore::Impl::State> Keystore::Impl::parse(const std::string &text, const ks::FileId &id,
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
    if (!ks::only_fields(doc.get(), {"format", "version", "kdf", "keys", "mac"}))
        return bad("unknown field");
    auto format = ks::get_string(doc.get(), "format");
    if (!format || *format != ks::kFormat)
        return bad("not a patchproof keystore");
    auto version = ks::get_int(doc.get(), "version");
    if (!version)
        return bad("no version");
    if (*version != ks::kVersion) {
        set_detail(detail, path + ": unsupported keystore version");
        return Errc::bad_version;
    }

    State st;
    st.id = id;
    if (const char *err = ks::parse_kdf(json_object_get(doc.get(), "kdf"), st.kdf))
        return bad(err);
    std::vector<ks::RawEntry> raws;
    if (const char *err = ks::parse_entries(json_object_get(doc.get(), "keys"), raws))
        return bad(err);

    auto mac_hex = ks::get_string(doc.get(), "mac");
    crypto::Hash256 mac_stored{};
    if (!mac_hex || !crypto::hex_decode_into(mac_stored, *mac_hex))
        return bad("no mac");

    auto master_key = master_for(st, detail);
    if (!master_key)
        return master_key.error();

    // Whole-document MAC first: nothing is decrypted from a file we did not write.
    JsonPtr unsigned_doc(json_deep_copy(doc.get()));
    json_object_del(unsigned_doc.get(), "mac");
    auto mac = ks::document_mac(**master_key, unsigned_doc.get());
    if (!mac)
        return bad("not canonical");
    if (!crypto::equal_ct(*mac, mac_stored)) {
        set_detail(detail, path + ": wrong master key, or the file was modified");
        return Errc::verify_failed;
    }
    if (auto r = ks::unseal_entries(st, raws, **master_key, path, detail); !r)
        return r.error();
    return st;
}

Result<Keystore::Impl::State> Keystore::Impl::load(IfMissing if_missing, std::string *detail)
{
    ks::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
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
    if (static_cast<size_t>(st.st_size) > ks::kMaxFileBytes) {
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
    return parse(text, ks::file_id(st), detail);
}

Result<JsonPtr> Keystore::Impl::to_json(const State &st) const
{
    JsonPtr doc(json_object());
    json_object_set_new(doc.get(), "format", json_stringn(ks::kFormat.data(), ks::kFormat.size()));
    json_object_set_new(doc.get(), "version", json_integer(ks::kVersion));
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
    auto master_key = master_for(st, detail);
    if (!master_key)
        return master_key.error();
    auto mac = ks::document_mac(**master_key, doc->get());
    if (!mac)
        return Errc::internal;
    json_object_set_new(doc->get(), "mac", json_string(crypto::hex_encode(*mac).c_str()));
    char *text = json_dumps(doc->get(), JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text)
        return Errc::internal;
    std::string out(text);
    std::free(text);
    out += '\n';
    return ks::write_atomic(path, out, detail);
}

}  // namespace pp::kms

// SPDX-License-Identifier: MIT
#include "kms/clients.h"

#include <cctype>
#include <cstdio>
#include <initializer_list>
#include <memory>
#include <optional>

#include <sodium.h>

#include "common/json.h"
#include "crypto/encoding.h"
#include "crypto/secret.h"

namespace pp::kms {

namespace {

constexpr size_t kMaxClients = 64;
constexpr size_t kMaxScopes = 32;
constexpr size_t kMaxNameBytes = 64;
constexpr size_t kMaxFileBytes = 1 << 20;

struct UseName {
    Use use;
    std::string_view name;
};
constexpr UseName kUses[] = {
    {Use::sign, "sign"},
    {Use::derive, "derive"},
    {Use::read, "read"},
    {Use::sun_verify, "sun-verify"},
    {Use::sun_provision, "sun-provision"},
};

std::optional<Use> parse_use(std::string_view s) noexcept
{
    for (const UseName &u : kUses)
        if (u.name == s)
            return u.use;
    return std::nullopt;
}

void set_detail(std::string *detail, std::string text)
{
    if (detail)
        *detail = std::move(text);
}

bool only_fields(const json_t *obj, std::initializer_list<std::string_view> allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach(const_cast<json_t *>(obj), key, value)
    {
        (void)value;
        bool known = false;
        for (std::string_view a : allowed)
            known = known || a == key;
        if (!known)
            return false;
    }
    return true;
}

bool valid_name(std::string_view s) noexcept
{
    if (s.empty() || s.size() > kMaxNameBytes)
        return false;
    for (unsigned char c : s)
        if (!(std::isalnum(c) || c == '-' || c == '_' || c == '.'))
            return false;
    return true;
}

// Key labels are short lowercase words ("issuer", "sun-meta").
bool valid_label_text(std::string_view s) noexcept
{
    if (s.empty() || s.size() > 32)
        return false;
    for (unsigned char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    return true;
}

Result<Scope> parse_scope(const json_t *item, const std::string &where, std::string *detail)
{
    if (!json_is_object(item) || !only_fields(item, {"use", "label"})) {
        set_detail(detail, where + ": must be an object with use and label only");
        return Errc::parse_error;
    }
    const json_t *use_j = json_object_get(item, "use");
    const json_t *label_j = json_object_get(item, "label");
    auto use = json_is_string(use_j) ? parse_use(json_string_value(use_j)) : std::nullopt;
    if (!use) {
        set_detail(detail, where + ".use: must be one of sign, derive, read, sun-verify, sun-provision");
        return Errc::parse_error;
    }
    Scope s;
    s.use = *use;
    if (label_j) {
        if (!json_is_string(label_j) || !valid_label_text(json_string_value(label_j))) {
            set_detail(detail, where + ".label: must be a key label");
            return Errc::parse_error;
        }
        s.label = json_string_value(label_j);
    }
    const bool needs_label = s.use == Use::sign || s.use == Use::derive;
    if (needs_label && s.label.empty()) {
        set_detail(detail, where + ".label: required for " + std::string(use_name(s.use)));
        return Errc::parse_error;
    }
    if (s.use == Use::read && !s.label.empty()) {
        set_detail(detail, where + ".label: read covers every public key and takes no label");
        return Errc::parse_error;
    }
    if (s.use == Use::derive && s.label != "svd") {
        set_detail(detail, where + ".label: derive is only for the svd key");
        return Errc::parse_error;
    }
    return s;
}

Result<ClientEntry> parse_client(const json_t *item, const std::string &where, std::string *detail)
{
    if (!json_is_object(item) || !only_fields(item, {"name", "tokenSha256", "scopes"})) {
        set_detail(detail, where + ": must be an object with name, tokenSha256 and scopes only");
        return Errc::parse_error;
    }
    ClientEntry c;
    const json_t *name = json_object_get(item, "name");
    if (!json_is_string(name) || !valid_name(json_string_value(name))) {
        set_detail(detail, where + ".name: 1 to 64 of A-Z a-z 0-9 . _ -");
        return Errc::parse_error;
    }
    c.name = json_string_value(name);
    const json_t *hash = json_object_get(item, "tokenSha256");
    if (!json_is_string(hash) || !crypto::hex_decode_into(c.token_sha256, json_string_value(hash))) {
        set_detail(detail, where + ".tokenSha256: must be 64 hex digits");
        return Errc::parse_error;
    }
    const json_t *scopes = json_object_get(item, "scopes");
    if (!json_is_array(scopes) || json_array_size(scopes) == 0 || json_array_size(scopes) > kMaxScopes) {
        set_detail(detail, where + ".scopes: must be an array of 1 to 32 scopes");
        return Errc::parse_error;
    }
    for (size_t i = 0; i < json_array_size(scopes); ++i) {
        auto s = parse_scope(json_array_get(scopes, i), where + ".scopes[" + std::to_string(i) + "]", detail);
        if (!s)
            return s.error();
        c.scopes.push_back(std::move(*s));
    }
    return c;
}

}  // namespace

std::string_view use_name(Use u) noexcept
{
    for (const UseName &n : kUses)
        if (n.use == u)
            return n.name;
    return "unknown";
}

Result<Clients> Clients::parse(std::string_view json_text, std::string *detail)
{
    json_error_t err;
    JsonPtr root(json_loadb(json_text.data(), json_text.size(), JSON_REJECT_DUPLICATES, &err));
    if (!root) {
        set_detail(detail, "not valid JSON (line " + std::to_string(err.line) + ")");
        return Errc::parse_error;
    }
    const json_t *list = json_object_get(root.get(), "clients");
    if (!json_is_object(root.get()) || !only_fields(root.get(), {"clients"}) || !json_is_array(list)) {
        set_detail(detail, "must be an object {\"clients\":[...]}");
        return Errc::parse_error;
    }
    if (json_array_size(list) == 0 || json_array_size(list) > kMaxClients) {
        set_detail(detail, "clients: must hold 1 to 64 clients");
        return Errc::invalid_argument;
    }
    Clients out;
    for (size_t i = 0; i < json_array_size(list); ++i) {
        const std::string where = "clients[" + std::to_string(i) + "]";
        auto c = parse_client(json_array_get(list, i), where, detail);
        if (!c)
            return c.error();
        for (const ClientEntry &e : out.entries_) {
            if (e.name == c->name) {
                set_detail(detail, where + ".name: duplicate");
                return Errc::parse_error;
            }
            if (crypto::equal_ct(e.token_sha256, c->token_sha256)) {
                set_detail(detail, where + ".tokenSha256: the same token as client " + e.name);
                return Errc::parse_error;
            }
        }
        out.entries_.push_back(std::move(*c));
    }
    return out;
}

Result<Clients> Clients::load(const std::string &path, std::string *detail)
{
    struct FileCloser {
        void operator()(std::FILE *f) const noexcept { std::fclose(f); }
    };
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
    if (!f) {
        set_detail(detail, "cannot read " + path);
        return Errc::unavailable;
    }
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
        text.append(buf, n);
        if (text.size() > kMaxFileBytes) {
            set_detail(detail, path + " is larger than 1 MiB");
            return Errc::parse_error;
        }
    }
    if (std::ferror(f.get())) {
        set_detail(detail, "cannot read " + path);
        return Errc::unavailable;
    }
    return parse(text, detail);
}

const ClientEntry *Clients::find(std::span<const uint8_t, 32> token_sha256) const noexcept
{
    const ClientEntry *found = nullptr;
    for (const ClientEntry &e : entries_) {
        const bool match = crypto::equal_ct(e.token_sha256, token_sha256);
        if (match && !found)
            found = &e;
    }
    return found;
}

const ClientEntry *Clients::authenticate(std::string_view token) const noexcept
{
    if (token.empty())
        return nullptr;
    crypto::Hash256 digest = crypto::sha256(crypto::as_bytes(token));
    const ClientEntry *c = find(digest);
    sodium_memzero(digest.data(), digest.size());
    return c;
}

bool allows(const ClientEntry &c, Use use, std::string_view label) noexcept
{
    for (const Scope &s : c.scopes) {
        if (s.use != use)
            continue;
        if (use == Use::read || s.label.empty() || s.label == label)
            return true;
    }
    return false;
}

bool allows_any(const ClientEntry &c, Use use) noexcept
{
    for (const Scope &s : c.scopes)
        if (s.use == use)
            return true;
    return false;
}

}  // namespace pp::kms

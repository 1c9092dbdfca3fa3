// SPDX-License-Identifier: MIT
#include "http/body.h"

#include <algorithm>
#include <cctype>

namespace pp::http {
namespace {

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no
// overlongs, no surrogates, nothing above U+10FFFF), or 0 when it is not one.
size_t utf8_char_len(std::string_view s) noexcept
{
    const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char lead = byte(0);
    if (lead < 0x80)
        return 1;
    size_t n = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (lead >= 0xc2 && lead <= 0xdf) {
        n = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        n = 3;
        if (lead == 0xe0)
            lo = 0xa0;  // overlong
        if (lead == 0xed)
            hi = 0x9f;  // surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        n = 4;
        if (lead == 0xf0)
            lo = 0x90;  // overlong
        if (lead == 0xf4)
            hi = 0x8f;  // above U+10FFFF
    } else {
        return 0;
    }
    if (s.size() < n || byte(1) < lo || byte(1) > hi)
        return 0;
    for (size_t i = 2; i < n; ++i)
        if (byte(i) < 0x80 || byte(i) > 0xbf)
            return 0;
    return n;
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// The longest prefix of `text` of at most `max_bytes` that ends between two
// characters, each ill-formed byte replaced by U+FFFD: always valid UTF-8,
// so it can go into a JSON string.
std::string utf8_prefix(std::string_view text, size_t max_bytes)
{
    static constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD
    std::string out;
    while (!text.empty()) {
        const size_t n = utf8_char_len(text);
        const std::string_view piece = n ? text.substr(0, n) : kReplacement;
        if (out.size() + piece.size() > max_bytes)
            break;
        out += piece;
        text.remove_prefix(n ? n : 1);
    }
    return out;
}

}  // namespace

bool is_json_content_type(std::string_view content_type) noexcept
{
    bool first = true;
    while (true) {
        const size_t semi = content_type.find(';');
        const std::string_view part = trim(content_type.substr(0, semi));
        if (first) {
            if (!iequals(part, "application/json"))
                return false;
            first = false;
        } else if (!part.empty()) {
            // The only parameter we accept is charset=utf-8.
            const size_t eq = part.find('=');
            if (eq == std::string_view::npos || !iequals(trim(part.substr(0, eq)), "charset"))
                return false;
            std::string_view value = trim(part.substr(eq + 1));
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                value = value.substr(1, value.size() - 2);
            if (!iequals(value, "utf-8"))
                return false;
        }
        if (semi == std::string_view::npos)
            return true;
        content_type.remove_prefix(semi + 1);
    }
}

ParsedBody parse_json_body(const Request &req)
{
    ParsedBody out;
    if (req.content_type.empty() || !is_json_content_type(req.content_type)) {
        out.error = error(415, code::unsupported_media, "Content-Type must be application/json.");
        return out;
    }
    json_error_t err;
    JsonPtr root(json_loadb(req.body.data(), req.body.size(), JSON_REJECT_DUPLICATES, &err));
    if (!root) {
        // Position only: jansson's text can quote the input.
        out.error = error(400, code::validation, "Malformed JSON.",
                          json_pack("{s:s,s:I}", "issue", "malformed", "position", json_int_t(err.position)));
        return out;
    }
    if (!json_is_object(root.get())) {
        out.error = error(400, code::validation, "Body must be a JSON object.",
                          json_pack("{s:s}", "issue", "not_an_object"));
        return out;
    }
    out.object = std::move(root);
    return out;
}

Validator::Validator(const json_t *obj, json_t *details, std::string prefix)
    : obj_(obj), details_(details), prefix_(std::move(prefix))
{
}

void Validator::problem(const char *name, const char *issue)
{
    // Decided here, before any text is built: the body is invalid whatever
    // happens to the detail below.
    failed_ = true;
    if (!details_)
        return;
    const std::string full = prefix_.empty() ? std::string(name) : prefix_ + "." + name;
    const std::string field = utf8_prefix(full, kMaxFieldBytes);
    const std::string what = utf8_prefix(issue, kMaxFieldBytes);
    json_t *entry = json_pack("{s:s%,s:s%}", "field", field.data(), field.size(), "issue", what.data(), what.size());
    if (entry && json_array_append_new(details_, entry) == 0)
        return;
    // Out of memory. Validators nested in this one's parent see only the
    // shared array, so it must not stay empty: json_null() is a static value
    // and a fresh jansson array has room for it without allocating.
    json_array_append_new(details_, json_null());
}

const json_t *Validator::get(const char *name, bool required, json_type type, const char *type_name)
{
    const json_t *v = obj_ ? json_object_get(obj_, name) : nullptr;
    if (!v) {
        if (required)
            problem(name, "required");
        return nullptr;
    }
    if (json_typeof(v) != type && !(type == JSON_TRUE && json_is_boolean(v))) {
        std::string issue = std::string("must be ") + type_name;
        problem(name, issue.c_str());
        return nullptr;
    }
    return v;
}

std::optional<std::string_view> Validator::string(const char *name, bool required)
{
    const json_t *v = get(name, required, JSON_STRING, "a string");
    if (!v)
        return std::nullopt;
    return std::string_view(json_string_value(v), json_string_length(v));
}

std::optional<long long> Validator::integer(const char *name, bool required)
{
    const json_t *v = get(name, required, JSON_INTEGER, "an integer");
    if (!v)
        return std::nullopt;
    return json_integer_value(v);
}

std::optional<bool> Validator::boolean(const char *name, bool required)
{
    const json_t *v = get(name, required, JSON_TRUE, "a boolean");
    if (!v)
        return std::nullopt;
    return json_is_true(v);
}

const json_t *Validator::object(const char *name, bool required)
{
    return get(name, required, JSON_OBJECT, "an object");
}

void Validator::only(std::initializer_list<const char *> allowed)
{
    if (!obj_)
        return;
    const char *key;
    json_t *value;
    json_object_foreach(const_cast<json_t *>(obj_), key, value) {
        bool known = std::any_of(allowed.begin(), allowed.end(),
                                 [&](const char *a) { return std::string_view(a) == key; });
        if (!known) {
            // Unknown names are client text: shown bounded, cut between characters.
            problem(utf8_prefix(key, kMaxUnknownNameBytes).c_str(), "unknown field");
        }
    }
}

Response validation_error(json_t *details, std::string_view message)
{
    return error(400, code::validation, message, details);
}

}  // namespace pp::http

// SPDX-License-Identifier: MIT
#include "crypto/canonical_json.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace pp::crypto {
namespace {

// Number.MAX_SAFE_INTEGER: beyond it a JS reader would round the value.
constexpr json_int_t kMaxSafeInteger = 9007199254740991LL;

constexpr char kLowerHex[] = "0123456789abcdef";

// Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above
// U+10FFFF. jansson checks this on input, but a tree built with the
// *_nocheck setters could still carry bad bytes.
bool valid_utf8(std::string_view s) noexcept
{
    const auto *p = reinterpret_cast<const unsigned char *>(s.data());
    size_t n = s.size();
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;  // stray continuation byte, 0xc0/0xc1 or 0xf5..0xff
        }
        if (n - i < len) return false;
        for (size_t k = 1; k < len; ++k) {
            unsigned char cc = p[i + k];
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) return false;
        if (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) return false;
        i += len;
    }
    return true;
}

struct Member {
    std::string_view key;
    const json_t *value;
};

Result<void> write_value(std::string &out, const json_t *v, KeyOrder order, size_t depth);

Result<void> write_object(std::string &out, const json_t *obj, KeyOrder order, size_t depth)
{
    std::vector<Member> members;
    members.reserve(json_object_size(obj));
    // jansson's iterator API takes a non-const pointer but does not modify the object.
    json_t *mut = const_cast<json_t *>(obj);
    for (void *it = json_object_iter(mut); it; it = json_object_iter_next(mut, it)) {
        std::string_view key(json_object_iter_key(it), json_object_iter_key_len(it));
        if (!valid_utf8(key)) return Errc::bad_json;
        members.push_back({key, json_object_iter_value(it)});
    }
    if (order == KeyOrder::sorted) {
        // char_traits<char> compares as unsigned char, so this is byte order.
        std::sort(members.begin(), members.end(),
                  [](const Member &a, const Member &b) { return a.key < b.key; });
    }
    out += '{';
    bool first = true;
    for (const Member &m : members) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, m.key);
        out += ':';
        if (auto r = write_value(out, m.value, order, depth + 1); !r) return r;
    }
    out += '}';
    return {};
}

Result<void> write_value(std::string &out, const json_t *v, KeyOrder order, size_t depth)
{
    if (depth > kCanonicalMaxDepth) return Errc::bad_json;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return write_object(out, v, order, depth);
    case JSON_ARRAY: {
        out += '[';
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; ++i) {
            if (i) out += ',';
            if (auto r = write_value(out, json_array_get(v, i), order, depth + 1); !r) return r;
        }
        out += ']';
        return {};
    }
    case JSON_STRING: {
        std::string_view s(json_string_value(v), json_string_length(v));
        if (!valid_utf8(s)) return Errc::bad_json;
        append_json_string(out, s);
        return {};
    }
    case JSON_INTEGER: {
        json_int_t n = json_integer_value(v);
        if (n > kMaxSafeInteger || n < -kMaxSafeInteger) return Errc::bad_json;
        char buf[24];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(n));
        if (ec != std::errc()) return Errc::internal;
        out.append(buf, end);
        return {};
    }
    case JSON_TRUE:
        out += "true";
        return {};
    case JSON_FALSE:
        out += "false";
        return {};
    case JSON_NULL:
        out += "null";
        return {};
    case JSON_REAL:
        return Errc::bad_json;  // never hashed; see header
    }
    return Errc::bad_json;
}

}  // namespace

void append_json_string(std::string &out, std::string_view utf8)
{
    out += '"';
    for (char ch : utf8) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                out += "\\u00";
                out += kLowerHex[c >> 4];
                out += kLowerHex[c & 0x0f];
            } else {
                out += ch;  // includes '/', DEL and UTF-8 sequences, as JSON.stringify
            }
        }
    }
    out += '"';
}

Result<std::string> canonical_json(const json_t *value, KeyOrder order)
{
    if (!value) return Errc::invalid_argument;
    std::string out;
    if (auto r = write_value(out, value, order, 0); !r) return r.error();
    return out;
}

}  // namespace pp::crypto

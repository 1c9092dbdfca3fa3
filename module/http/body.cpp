// SPDX-License-Identifier: MIT
#include "http/body.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace pp::http {
namespace {

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
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
    std::string field = prefix_.empty() ? name : prefix_ + "." + name;
    json_array_append_new(details_, json_pack("{s:s,s:s}", "field", field.c_str(), "issue", issue));
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
            // Unknown names are client text; report them but bounded.
            std::string shown(key, std::min<size_t>(std::strlen(key), 64));
            problem(shown.c_str(), "unknown field");
        }
    }
}

Response validation_error(json_t *details, std::string_view message)
{
    return error(400, code::validation, message, details);
}

}  // namespace pp::http

// SPDX-License-Identifier: MIT
// Owning handle for jansson values: the one place json_decref is called.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <jansson.h>

namespace pp {

struct JsonDeleter {
    void operator()(json_t *j) const noexcept { json_decref(j); }
};
using JsonPtr = std::unique_ptr<json_t, JsonDeleter>;

// Takes a new reference (json_incref) so the caller's reference stays valid.
inline JsonPtr json_ref(json_t *j) noexcept { return JsonPtr(json_incref(j)); }

// A new JSON string, or null when absent (stolen by json_pack's "o").
inline json_t *json_string_or_null(const std::optional<std::string> &s)
{
    return s ? json_stringn(s->data(), s->size()) : json_null();
}

}  // namespace pp

// SPDX-License-Identifier: MIT
// Canonical JSON (DESIGN.md §3): the bytes we hash and sign, identical to
// what JavaScript's JSON.stringify produces for the same value, so a JS
// verifier recomputes the same digest.
//
// Output: compact (no whitespace); strings escaped as JSON.stringify does
// (`"` `\` and \b \f \n \r \t short forms, other bytes < 0x20 as \u00xx with
// lowercase hex, `/` not escaped, DEL and all non-ASCII kept as raw UTF-8);
// integers as plain decimals; true/false/null. With KeyOrder::sorted the keys
// of every object, at every depth, are in byte order of their UTF-8; with
// KeyOrder::insertion they come in jansson's insertion order.
//
// Ownership: canonical_json borrows `value` (no incref, no decref); the
// caller keeps its reference. The returned string is the caller's.
//
// Errors (no partial output is ever returned):
//   invalid_argument  value is nullptr
//   bad_json          a real (we never hash floats: their text form differs
//                     between libraries), an integer JS cannot hold exactly
//                     (|n| > 2^53 - 1, JS would print another number), a
//                     string or key that is not valid UTF-8, or nesting
//                     deeper than kCanonicalMaxDepth.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <jansson.h>

#include "common/result.h"

namespace pp::crypto {

enum class KeyOrder { sorted, insertion };

// Same limit as jansson's parser; it also stops runaway recursion on a
// hand-built tree.
inline constexpr size_t kCanonicalMaxDepth = 2048;

Result<std::string> canonical_json(const json_t *value, KeyOrder order);

// Appends `utf8` as a quoted JSON string with JSON.stringify escaping. Bytes
// are copied as they are apart from the escapes; the caller passes valid
// UTF-8 (canonical_json checks this for the values it serialises).
void append_json_string(std::string &out, std::string_view utf8);

}  // namespace pp::crypto

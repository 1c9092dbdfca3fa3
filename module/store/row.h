// SPDX-License-Identifier: MIT
// Checked readers for result columns (store/db.h returns every column as
// text). The one place where a column's text becomes a number: a NULL, an
// empty string, a sign where none belongs, trailing bytes or an overflow is an
// error, never a silent 0.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "common/result.h"
#include "store/db.h"

namespace pp::store {

// Whole-text decimal integer of type T. Errc::not_found for NULL (or a column
// index past the row), Errc::internal for anything that is not a T.
template <typename T>
Result<T> col_int(const Row &row, size_t index)
{
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
    if (index >= row.size() || !row[index]) return Errc::not_found;
    const std::string &s = *row[index];
    if (s.empty()) return Errc::internal;
    T out{};
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc() || ptr != s.data() + s.size()) return Errc::internal;
    return out;
}

// As col_int, but NULL is nullopt (a nullable column).
template <typename T>
Result<std::optional<T>> col_int_or_null(const Row &row, size_t index)
{
    if (index < row.size() && !row[index]) return std::optional<T>{};
    auto v = col_int<T>(row, index);
    if (!v) return v.error();
    return std::optional<T>{*v};
}

}  // namespace pp::store

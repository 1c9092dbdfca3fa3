// SPDX-License-Identifier: MIT
// One text mapping per stored enum. A state kept in a MariaDB ENUM column is
// a C++ enum in the code and crosses into SQL (as a bound parameter) or out
// of a row only through the single table its EnumText specialisation holds:
//
//   template <> struct EnumText<ClaimStatus> {
//       static constexpr std::array<std::pair<ClaimStatus, std::string_view>, 5> names{{...}};
//   };
//
// to_text(e) and from_text<E>(s) look that table up. A text that is not in it
// (a row written by a newer schema, a typo) is nullopt, never a default.
#pragma once

#include <optional>
#include <string_view>

#include "common/result.h"
#include "store/db.h"

namespace pp::store {

template <typename E>
struct EnumText;  // specialised next to each enum

template <typename E>
constexpr std::string_view to_text(E e) noexcept
{
    for (const auto &[value, name] : EnumText<E>::names)
        if (value == e) return name;
    return {};  // unreachable while every enumerator is in the table
}

template <typename E>
constexpr std::optional<E> from_text(std::string_view s) noexcept
{
    for (const auto &[value, name] : EnumText<E>::names)
        if (name == s) return value;
    return std::nullopt;
}

// Column `index` of a row as E: Errc::not_found for NULL, Errc::internal for
// a text outside the table.
template <typename E>
Result<E> col_enum(const Row &row, size_t index)
{
    if (index >= row.size() || !row[index]) return Errc::not_found;
    auto e = from_text<E>(*row[index]);
    if (!e) return Errc::internal;
    return *e;
}

}  // namespace pp::store

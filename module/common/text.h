// SPDX-License-Identifier: MIT
// Small text rules shared by the routes: the contract's userId pattern and
// ASCII lower-casing (hex is accepted in either case, answered in lower).
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace pp {

inline constexpr size_t kUserIdMaxChars = 64;

// ^[A-Za-z0-9_-]{1,64}$ (DESIGN.md §3).
inline bool valid_user_id(std::string_view id) noexcept
{
    if (id.empty() || id.size() > kUserIdMaxChars)
        return false;
    for (char c : id)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
            return false;
    return true;
}

inline std::string ascii_lower(std::string_view s)
{
    std::string out(s);
    for (char &c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace pp

// SPDX-License-Identifier: MIT
// Checked integer parsing for command-line options and environment values:
// the whole text must be digits in `base` (no sign, spaces or suffix) and the
// value must lie in [min, max]. std::atoi/strtol take "4x" as 4 and " 4" as 4;
// an operator who typed a bad value should hear about it instead.
#pragma once

#include <charconv>
#include <cstdio>
#include <cstdint>
#include <optional>
#include <string_view>

namespace pp {

// The whole text as a non-negative integer in `base`; false otherwise.
inline bool parse_int(std::string_view text, int64_t &out, int base = 10) noexcept
{
    if (text.empty() || text.front() == '-')
        return false;
    int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n, base);
    if (ec != std::errc() || end != text.data() + text.size())
        return false;
    out = n;
    return true;
}

// As parse_int, and within [min, max]; nullopt otherwise.
inline std::optional<int64_t> parse_int_in(std::string_view text, int64_t min, int64_t max, int base = 10) noexcept
{
    int64_t n = 0;
    if (!parse_int(text, n, base) || n < min || n > max)
        return std::nullopt;
    return n;
}

// The one-line complaint about a bad value of `option` (to stderr, prefixed
// by the program's name); returns 2, the exit status of a usage error.
inline int bad_int_option(const char *program, const char *option, const char *value, int64_t min, int64_t max,
                          int base = 10)
{
    const auto lo = static_cast<long long>(min);
    const auto hi = static_cast<long long>(max);
    if (base == 8)
        std::fprintf(stderr, "%s: %s must be an octal number from %llo to 0%llo, not \"%s\"\n", program, option, lo,
                     hi, value);
    else
        std::fprintf(stderr, "%s: %s must be a whole number from %lld to %lld, not \"%s\"\n", program, option, lo,
                     hi, value);
    return 2;
}

}  // namespace pp

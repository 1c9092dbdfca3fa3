// SPDX-License-Identifier: MIT
// What the operator commands (jobs, utxo, fee, anchor) share: the admin
// role's start-up, JSON output, failure lines, argument parsing and the
// subcommand switch.
#pragma once

#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>

#include <jansson.h>

#include "common/result.h"
#include "config/config.h"
#include "store/db.h"

namespace pp::cli {

// What every operator command opens: the admin role's configuration from
// the environment and one MariaDB connection. nullopt after printing why
// (to stderr, prefixed with `who`).
struct AdminEnv {
    config::Config cfg;
    std::optional<store::Db> db;
};
std::optional<AdminEnv> open_admin_env(std::string_view who);

// Prints j (stolen) as one compact JSON line on stdout; 0, or 1 when it
// cannot be printed.
int print_json_line(json_t *j);

// "who: what (ERRC)" on stderr and, with json, the failure body on stdout
// ({"success":false,"message":what,"error":ERRC}); returns 1.
int report_failure(const char *who, const char *what, Errc e, bool json);

// The whole text as an unsigned number of type T; false otherwise.
template <typename T>
bool parse_uint(std::string_view s, T *out)
{
    if (s.empty())
        return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size();
}

int64_t now_ms();

// argv[0] names one of subs: runs it with the arguments after it;
// otherwise (or with no argument) usage().
struct Subcommand {
    std::string_view name;
    int (*run)(int argc, char **argv);
};
int run_subcommand(int argc, char **argv, std::initializer_list<Subcommand> subs, int (*usage)());

}  // namespace pp::cli

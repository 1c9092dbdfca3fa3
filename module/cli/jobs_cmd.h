// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string_view>

#include <jansson.h>

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

// patchproof jobs list [--state STEP] [--limit N] | retry ID | check [--since-min N]
// argv starts after "jobs". Exit codes: 0 ok, 1 failure or retry refused,
// 2 usage, and for check 2 when a job has failed (for monitoring).
int cmd_jobs(int argc, char **argv);

}  // namespace pp::cli

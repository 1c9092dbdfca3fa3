// SPDX-License-Identifier: MIT
// Numbered schema migrations: sql_dir/NNNN_name.sql applied in name order,
// each recorded once in `schema_migrations` (name, sha256 of the file bytes,
// applied_at). Idempotent: recorded files are skipped.
//
// Ownership and threads: uses the caller's Db (one per process, not
// thread-safe). Concurrent migrators on other hosts are serialised with a
// server-side GET_LOCK, so two deploys cannot apply the same file twice.
//
// A recorded file whose bytes changed is an error (Errc::conflict) and
// nothing is applied; fix it with a new numbered file instead. A file that
// fails is not recorded, but DDL commits implicitly in MariaDB, so the file
// may be half applied: write migrations to be re-runnable (IF NOT EXISTS).
// Each file runs as one multi-statement script (no DELIMITER blocks); give
// the Db a read_timeout_sec longer than the slowest migration.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/db.h"

namespace pp::store {

struct MigrationReport {
    std::vector<std::string> applied;  // file names applied by this call, in order
    std::vector<std::string> already;  // file names found already recorded
};

// On failure *error_detail (if not null) gets one line for the operator that
// names the file and the mysql errno; never SQL text or values.
Result<MigrationReport> migrate(Db &db, const std::string &sql_dir, std::string *error_detail);

// True for names of the form ^[0-9]{4}_[A-Za-z0-9_]+\.sql$.
bool is_migration_name(std::string_view name) noexcept;

}  // namespace pp::store

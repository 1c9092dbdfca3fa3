// SPDX-License-Identifier: MIT
// Runtime settings (table settings: name → text value) that override the
// environment without a restart, e.g. FEE_PER_KB (DESIGN.md §4).
//
// Ownership and failure model: functions run on the caller's Db (one per
// process, not thread-safe), one statement each in autocommit. MariaDB
// errors are returned as they are; a value that is there but not usable is
// Errc::invalid_argument, so the caller can fall back to its configuration
// and say why. Nothing here logs or caches.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/db.h"

namespace pp::store {

inline constexpr std::string_view kSettingFeePerKb = "FEE_PER_KB";
inline constexpr uint64_t kMaxFeePerKb = 100'000'000;  // 1 BSV per kB: anything above is a typo

// nullopt when the setting is not in the table.
Result<std::optional<std::string>> get_setting(Db &db, std::string_view name);
// Inserts or replaces one setting.
Result<void> put_setting(Db &db, std::string_view name, std::string_view value);
// Removes one setting (no error when it was not there).
Result<void> delete_setting(Db &db, std::string_view name);

// FEE_PER_KB in satoshis; nullopt when unset, invalid_argument when it is not
// a decimal integer in [0, kMaxFeePerKb].
Result<std::optional<uint64_t>> fee_per_kb_setting(Db &db);

}  // namespace pp::store

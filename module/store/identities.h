// SPDX-License-Identifier: MIT
// SVD identities: the one registered public master key (PMC) per user
// (svd_registrations) and the privacy-delete cut-off per subject
// (subject_not_before: tokens issued at or before it are refused).
//
// Ownership and failure model: functions run on the caller's Db (one per
// process, not thread-safe), each one statement in autocommit. MariaDB
// errors are returned as they are; nothing here logs or retries. Keys are
// public; nothing here is secret.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/db.h"

namespace pp::store {

// First registration of `user_id`; conflict when the user already has a key.
Result<void> insert_pmc(Db &db, std::string_view user_id, std::string_view pmc_hex);
// The user's registered key; nullopt when there is none.
Result<std::optional<std::string>> find_pmc(Db &db, std::string_view user_id);
// Replaces the key (version+1); false when the user has no registration.
Result<bool> replace_pmc(Db &db, std::string_view user_id, std::string_view pmc_hex);

// The subject's cut-off in unix seconds; nullopt when none was set.
Result<std::optional<int64_t>> subject_not_before(Db &db, std::string_view user_id);
// Sets (or moves) the cut-off.
Result<void> set_subject_not_before(Db &db, std::string_view user_id, int64_t not_before);

}  // namespace pp::store

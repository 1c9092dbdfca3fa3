// SPDX-License-Identifier: MIT
// Owner-only patch content (table patch_content): stored already sealed
// (XChaCha20-Poly1305, registry/records.h), one row per uid. The store never
// sees a key or a plaintext, only the nonce and ciphertext bytes.
//
// Ownership and failure model: functions run on the caller's Db (one per
// process, not thread-safe), one statement each in autocommit. MariaDB
// errors are returned as they are; nothing here logs or retries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/db.h"

namespace pp::store {

struct SealedRow {
    std::string nonce, ciphertext;  // raw bytes
};

// Inserts or replaces the content of `uid`; `plain_bytes` is the plaintext size.
Result<void> put_content(Db &db, std::string_view uid, std::string_view nonce, std::string_view ciphertext,
                         int64_t plain_bytes);
// nullopt when the uid has no content.
Result<std::optional<SealedRow>> find_content(Db &db, std::string_view uid);

}  // namespace pp::store

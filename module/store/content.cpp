// SPDX-License-Identifier: MIT
#include "store/content.h"

namespace pp::store {

Result<void> put_content(Db &db, std::string_view uid, std::string_view nonce, std::string_view ciphertext,
                         int64_t plain_bytes)
{
    auto n = db.execute(
        "INSERT INTO patch_content (uid_tag_id, nonce, ciphertext, bytes) VALUES (?, ?, ?, ?) "
        "ON DUPLICATE KEY UPDATE nonce = VALUES(nonce), ciphertext = VALUES(ciphertext), bytes = VALUES(bytes)",
        {uid, nonce, ciphertext, plain_bytes});
    if (!n)
        return n.error();
    return {};
}

Result<std::optional<SealedRow>> find_content(Db &db, std::string_view uid)
{
    auto rows = db.query("SELECT nonce, ciphertext FROM patch_content WHERE uid_tag_id = ?", {uid});
    if (!rows)
        return rows.error();
    if (rows->empty() || !(*rows)[0][0] || !(*rows)[0][1])
        return std::optional<SealedRow>();
    return std::optional<SealedRow>(SealedRow{*(*rows)[0][0], *(*rows)[0][1]});
}

}  // namespace pp::store

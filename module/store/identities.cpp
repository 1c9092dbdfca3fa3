// SPDX-License-Identifier: MIT
#include "store/identities.h"

#include "store/row.h"

namespace pp::store {

Result<void> insert_pmc(Db &db, std::string_view user_id, std::string_view pmc_hex)
{
    auto n = db.execute("INSERT INTO svd_registrations (user_id, pmc_hex) VALUES (?, ?)", {user_id, pmc_hex});
    if (!n)
        return n.error();
    return {};
}

Result<std::optional<std::string>> find_pmc(Db &db, std::string_view user_id)
{
    auto rows = db.query("SELECT pmc_hex FROM svd_registrations WHERE user_id = ?", {user_id});
    if (!rows)
        return rows.error();
    if (rows->empty() || !(*rows)[0][0])
        return std::optional<std::string>();
    return std::optional<std::string>(*(*rows)[0][0]);
}

Result<bool> replace_pmc(Db &db, std::string_view user_id, std::string_view pmc_hex)
{
    auto n = db.execute("UPDATE svd_registrations SET pmc_hex = ?, version = version + 1 WHERE user_id = ?",
                        {pmc_hex, user_id});
    if (!n)
        return n.error();
    // Matched rows (CLIENT_FOUND_ROWS): 0 means the registration is gone.
    return *n > 0;
}

Result<std::optional<int64_t>> subject_not_before(Db &db, std::string_view user_id)
{
    auto rows = db.query("SELECT not_before FROM subject_not_before WHERE user_id = ?", {user_id});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<int64_t>();
    auto v = col_int<int64_t>((*rows)[0], 0);
    if (!v)
        return Errc::internal;
    return std::optional<int64_t>(*v);
}

Result<void> set_subject_not_before(Db &db, std::string_view user_id, int64_t not_before)
{
    auto n = db.execute("INSERT INTO subject_not_before (user_id, not_before) VALUES (?, ?) "
                        "ON DUPLICATE KEY UPDATE not_before = VALUES(not_before)",
                        {user_id, not_before});
    if (!n)
        return n.error();
    return {};
}

}  // namespace pp::store

// SPDX-License-Identifier: MIT
#include "store/settings.h"

#include "store/row.h"

namespace pp::store {

Result<std::optional<std::string>> get_setting(Db &db, std::string_view name)
{
    auto rows = db.query("SELECT value FROM settings WHERE name = ?", {name});
    if (!rows)
        return rows.error();
    if (rows->empty() || !(*rows)[0][0])
        return std::optional<std::string>();
    return std::optional<std::string>(*(*rows)[0][0]);
}

Result<void> put_setting(Db &db, std::string_view name, std::string_view value)
{
    auto n = db.execute("INSERT INTO settings (name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)",
                        {name, value});
    if (!n)
        return n.error();
    return {};
}

Result<void> delete_setting(Db &db, std::string_view name)
{
    auto n = db.execute("DELETE FROM settings WHERE name = ?", {name});
    if (!n)
        return n.error();
    return {};
}

Result<std::optional<uint64_t>> fee_per_kb_setting(Db &db)
{
    auto v = get_setting(db, kSettingFeePerKb);
    if (!v)
        return v.error();
    if (!*v)
        return std::optional<uint64_t>();
    const Row one{**v};
    auto fee = col_int<uint64_t>(one, 0);
    if (!fee || *fee > kMaxFeePerKb)
        return Errc::invalid_argument;
    return std::optional<uint64_t>(*fee);
}

}  // namespace pp::store

// SPDX-License-Identifier: MIT
#include "store/leases.h"

#include <optional>

#include "store/row.h"

namespace pp::store {

namespace {

// A release between our INSERT and SELECT frees the name again; try again a
// few times before calling it a conflict.
constexpr int kAcquireRounds = 3;

struct Current {
    std::string holder;
    int64_t expires_at = 0, version = 0;
};

Result<std::optional<Current>> read_lease(Db &db, std::string_view name)
{
    auto rows = db.query("SELECT holder, expires_at, version FROM leases WHERE name = ?", {name});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<Current>();
    const Row &r = (*rows)[0];
    auto expires = col_int<int64_t>(r, 1);
    auto version = col_int<int64_t>(r, 2);
    if (!r[0] || !expires || !version)
        return Errc::internal;
    return std::optional<Current>(Current{*r[0], *expires, *version});
}

}  // namespace

Result<Lease> acquire_lease(Db &db, std::string_view name, std::string_view holder, int64_t now_sec,
                            int64_t ttl_sec)
{
    if (name.empty() || holder.empty() || ttl_sec < 1)
        return Errc::invalid_argument;
    const int64_t until = now_sec + ttl_sec;
    for (int round = 0; round < kAcquireRounds; ++round) {
        auto ins = db.execute("INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)", {name, holder, until});
        if (ins)
            return Lease{std::string(name), std::string(holder), until, 0};
        if (ins.error() != Errc::conflict)
            return ins.error();
        auto cur = read_lease(db, name);
        if (!cur)
            return cur.error();
        if (!*cur)
            continue;  // released in between
        const Current &c = **cur;
        if (c.holder != holder && c.expires_at > now_sec)
            return Errc::conflict;
        auto up = db.execute("UPDATE leases SET holder = ?, expires_at = ?, version = version + 1 "
                             "WHERE name = ? AND version = ?",
                             {holder, until, name, c.version});
        if (!up)
            return up.error();
        if (*up == 0)
            return Errc::conflict;  // another process took it first
        return Lease{std::string(name), std::string(holder), until, c.version + 1};
    }
    return Errc::conflict;
}

Result<void> renew_lease(Db &db, Lease &lease, int64_t now_sec, int64_t ttl_sec)
{
    if (ttl_sec < 1)
        return Errc::invalid_argument;
    const int64_t until = now_sec + ttl_sec;
    auto up = db.execute("UPDATE leases SET expires_at = ?, version = version + 1 "
                         "WHERE name = ? AND holder = ? AND version = ? AND expires_at > ?",
                         {until, lease.name, lease.holder, lease.version, now_sec});
    if (!up)
        return up.error();
    if (*up == 0)
        return Errc::conflict;
    lease.expires_at = until;
    ++lease.version;
    return {};
}

Result<void> release_lease(Db &db, const Lease &lease)
{
    auto del = db.execute("DELETE FROM leases WHERE name = ? AND holder = ? AND version = ?",
                          {lease.name, lease.holder, lease.version});
    if (!del)
        return del.error();
    if (*del == 0)
        return Errc::conflict;
    return {};
}

}  // namespace pp::store

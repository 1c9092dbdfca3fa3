// SPDX-License-Identifier: MIT
// Shared by the maintenance and job_admin integration tests: table cleanup,
// outpoint ids, one-value queries and a queued record job.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "fixture.h"
#include "store/db.h"
#include "store/pending.h"
#include "store/txn.h"

#include "vectors.h"  // cmocka includes, after every C++ header

namespace pp::test {

inline constexpr int64_t kT0 = 1'700'000'000'000;

inline int clean(void **)
{
    store::Db db = connect_app();
    for (const char *sql : {"DELETE FROM jobs", "DELETE FROM pending_records", "DELETE FROM utxos",
                            "DELETE FROM patch_state", "DELETE FROM records", "DELETE FROM leases",
                            "DELETE FROM settings"})
        if (!db.execute(sql))
            return -1;
    return 0;
}

inline std::string txid_of(int n)
{
    char buf[65];
    std::snprintf(buf, sizeof buf, "%064x", n);
    return buf;
}

inline std::string col(store::Db &db, const std::string &sql)
{
    auto rows = db.query(sql);
    assert_true(rows.ok());
    assert_int_equal(rows->size(), 1);
    return (*rows)[0][0].value_or("NULL");
}

inline uint64_t record_job(store::Db &db, const std::string &uid, const char *kind = "registration")
{
    store::NewPending p;
    p.id = (uid + std::string(32, '0')).substr(0, 32);
    p.kind = kind;
    p.uid_tag_id = uid;
    p.record = "{\"auth\":{\"owner\":\"x\"}}";
    if (std::string_view(kind) == "transfer")
        p.prev_txid = txid_of(99);
    auto id = store::with_txn(db, [&](store::Txn &t) { return store::enqueue(t.db(), p); });
    assert_true(id.ok());
    return *id;
}

}  // namespace pp::test

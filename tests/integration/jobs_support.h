// SPDX-License-Identifier: MIT
// Shared by the record-job and job-kind integration tests: a queued record
// job and the claim helpers, with the lease both use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fixture.h"
#include "store/db.h"
#include "store/jobs.h"
#include "store/pending.h"

#include "vectors.h"  // cmocka includes, after every C++ header

namespace pp::test {

inline constexpr int64_t kLease = 30'000;

inline uint64_t enqueue_one(store::Db &db, const std::string &uid, const char *kind = "registration",
                            std::optional<std::string> prev = std::nullopt,
                            std::optional<std::string> claim = std::nullopt)
{
    store::NewPending p;
    p.id = store::random_id();
    p.kind = kind;
    p.uid_tag_id = uid;
    p.record = "{\"auth\":{\"owner\":\"x\"},\"uid\":\"" + uid + "\"}";
    p.prev_txid = std::move(prev);
    p.claim_intent_id = std::move(claim);
    assert_true(db.begin().ok());
    auto id = store::enqueue(db, p);
    assert_true(id.ok());
    assert_true(db.commit().ok());
    return *id;
}

inline store::Job claim_some(store::Db &db, std::string_view owner, int64_t now)
{
    auto c = store::claim_job(db, owner, now, kLease);
    assert_true(c.ok());
    assert_true(c->has_value());
    return std::move(**c);
}

inline void assert_none(store::Db &db, std::string_view owner, int64_t now)
{
    auto c = store::claim_job(db, owner, now, kLease);
    assert_true(c.ok());
    assert_false(c->has_value());
}

}  // namespace pp::test

// SPDX-License-Identifier: MIT
// Pending records and their broadcast jobs (tables pending_records, jobs).
// A registration or transfer is accepted by writing its pending record and
// its job in one transaction, so a job never exists without its record and
// vice versa.
//
// Ownership and failure model: every function runs on the caller's Db (one
// per process, not thread-safe) and, where it says so, inside the caller's
// open transaction (store::with_txn). MariaDB errors come back as the Errc of
// store/db.h (Errc::deadlock: re-run the transaction whole); nothing here
// logs, retries or commits.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"
#include "store/db.h"
#include "store/enum_text.h"

namespace pp::store {

// pending_records.kind
enum class PendingKind { registration, transfer };
// pending_records.status: pending → anchoring → confirmed | failed.
enum class PendingStatus { pending, anchoring, confirmed, failed };

template <>
struct EnumText<PendingKind> {
    static constexpr std::array<std::pair<PendingKind, std::string_view>, 2> names{{
        {PendingKind::registration, "registration"},
        {PendingKind::transfer, "transfer"},
    }};
};
template <>
struct EnumText<PendingStatus> {
    static constexpr std::array<std::pair<PendingStatus, std::string_view>, 4> names{{
        {PendingStatus::pending, "pending"},
        {PendingStatus::anchoring, "anchoring"},
        {PendingStatus::confirmed, "confirmed"},
        {PendingStatus::failed, "failed"},
    }};
};

struct NewPending {
    std::string id;                         // random 128-bit hex (32 chars)
    std::string kind;                       // to_text(PendingKind): "registration" | "transfer"
    std::string uid_tag_id;
    std::string record;                     // compact JSON, order as received: the bytes anchored
    std::optional<std::string> prev_txid;   // transfers
    std::optional<std::string> claim_intent_id;
};

// Runs inside the caller's open transaction (store::with_txn).
// conflict: a registration of this uid is already pending.
Result<uint64_t> enqueue(Db &db, const NewPending &p);

struct PendingView {
    std::string id, uid_tag_id;
    PendingKind kind = PendingKind::registration;
    PendingStatus status = PendingStatus::pending;
    std::optional<std::string> txid, error;
    std::string created_at, updated_at;     // ISO 8601 UTC, milliseconds
};

// not_found when there is no such id of that kind.
Result<PendingView> find_pending(Db &db, std::string_view id, PendingKind kind);
// The same with the kind as its text; not_found for a kind that does not exist.
Result<PendingView> find_pending(Db &db, std::string_view id, std::string_view kind);

// True while a registration of `uid` is pending or anchoring (the reg_lock
// that makes a second one a duplicate key). A plain read: the insert in
// enqueue() is what decides a race.
Result<bool> registration_pending(Db &db, std::string_view uid);

// Sets status, txid and error of record `id` (txid/error NULL when nullopt),
// only if its status is one of `from`. Returns whether a row matched.
Result<bool> set_pending_status(Db &db, std::string_view id, PendingStatus to,
                                std::initializer_list<PendingStatus> from,
                                const std::optional<std::string> &txid = std::nullopt,
                                const std::optional<std::string> &error = std::nullopt);

// 128 random bits as 32 lowercase hex characters.
std::string random_id();

}  // namespace pp::store

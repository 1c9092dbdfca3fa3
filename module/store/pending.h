// SPDX-License-Identifier: MIT
// Pending records and their broadcast jobs. A registration or transfer is
// accepted by writing its pending record and its job in one transaction, so
// a job never exists without its record and vice versa.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "store/db.h"

namespace pp::store {

struct NewPending {
    std::string id;                         // random 128-bit hex (32 chars)
    std::string kind;                       // "registration" | "transfer"
    std::string uid_tag_id;
    std::string record;                     // compact JSON, order as received: the bytes anchored
    std::optional<std::string> prev_txid;   // transfers
    std::optional<std::string> claim_intent_id;
};

// Runs inside the caller's open transaction (db.begin() … commit()).
// conflict: a registration of this uid is already pending.
Result<uint64_t> enqueue(Db &db, const NewPending &p);

struct PendingView {
    std::string id, kind, uid_tag_id, status;
    std::optional<std::string> txid, error;
    std::string created_at, updated_at;     // ISO 8601 UTC
};

// not_found when there is no such id of that kind.
Result<PendingView> find_pending(Db &db, std::string_view id, std::string_view kind);

// 128 random bits as 32 lowercase hex characters.
std::string random_id();

}  // namespace pp::store

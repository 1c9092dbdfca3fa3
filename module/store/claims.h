// SPDX-License-Identifier: MIT
// Point-of-sale claim intents (table claim_intents, DESIGN.md §3 "Point of
// sale claim"): pending → approved → confirmed | failed, or pending →
// expired. Every change is one UPDATE guarded by the intent's version and
// status, so two shops approving one intent cannot both win.
//
// Ownership and failure model: functions run on the caller's Db (one per
// process, not thread-safe); approve_claim belongs inside the caller's
// store::with_txn with the transfer lock and the job it comes with. MariaDB
// errors are returned as they are (Errc::deadlock: re-run the transaction);
// nothing here logs, retries or commits.
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

enum class ClaimStatus { pending, approved, confirmed, failed, expired };

template <>
struct EnumText<ClaimStatus> {
    static constexpr std::array<std::pair<ClaimStatus, std::string_view>, 5> names{{
        {ClaimStatus::pending, "pending"},
        {ClaimStatus::approved, "approved"},
        {ClaimStatus::confirmed, "confirmed"},
        {ClaimStatus::failed, "failed"},
        {ClaimStatus::expired, "expired"},
    }};
};

struct NewClaim {
    std::string id, uid_tag_id, customer_address, customer_user_id, customer_pubkey, nonce;
    int64_t challenge_ts = 0, expires_ms = 0;
};

// conflict: the nonce was used before (unique per deployment).
Result<void> insert_claim(Db &db, const NewClaim &c);

struct Claim {
    std::string id, uid_tag_id;
    std::optional<std::string> customer_address;  // NULL after a privacy delete
    ClaimStatus status = ClaimStatus::pending;
    std::optional<std::string> approved_by, pending_id, txid, error;
    int64_t expires_ms = 0, version = 0;
};

// nullopt when there is no such intent.
Result<std::optional<Claim>> find_claim(Db &db, std::string_view id);

// pending → expired if still at `version`; false when someone changed it first.
Result<bool> expire_claim(Db &db, std::string_view id, int64_t version);
// In a transaction: pending → approved (approved_by, pending_id) if still at
// `version`; false when it is no longer that pending row.
Result<bool> approve_claim(Db &db, std::string_view id, int64_t version, std::string_view approved_by,
                           std::string_view pending_id);
// The worker's outcome: → confirmed with the txid (error cleared), or
// pending/approved → failed with the reason. False when no row changed.
Result<bool> confirm_claim(Db &db, std::string_view id, std::string_view txid);
Result<bool> fail_claim(Db &db, std::string_view id, std::string_view reason);

}  // namespace pp::store

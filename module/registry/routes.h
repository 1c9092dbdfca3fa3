// SPDX-License-Identifier: MIT
// Patch registry endpoints (DESIGN.md §3 "Patches"): register, the two
// pending-record lookups, verify, transfer of ownership, unlockable content.
// Handlers keep the contract's order of checks (credentials, then body, then
// resources); MariaDB or the KMS being away is a 503. Bodies and signatures
// are never logged or echoed.
//
// Also exported for module/pos: reading a patch's current state and taking
// the transfer lock on it. Both run on the caller's Db (one per worker, not
// thread-safe); lock_for_transfer belongs inside the caller's transaction,
// together with the store::enqueue of the transfer it guards.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "app/context.h"
#include "common/result.h"
#include "store/db.h"

namespace pp::registry {

void add_routes(app::AppRouter &router);

struct PatchState {
    std::string uid_tag_id, current_txid, current_record, record_hash, owner_address;
    std::optional<std::string> pending_transfer_id;
    int64_t version = 0;
};

// nullopt when the uid has no confirmed state; unavailable when MariaDB is.
Result<std::optional<PatchState>> load_patch_state(store::Db &db, std::string_view uid);

// UPDATE … SET pending_transfer_id, version+1 WHERE the state is still `s`
// (same txid and version, no transfer pending). conflict when it moved.
Result<void> lock_for_transfer(store::Db &db, const PatchState &s, std::string_view pending_id);

}  // namespace pp::registry

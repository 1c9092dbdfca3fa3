// SPDX-License-Identifier: MIT
// The patch registry's tables: patch_state (the current, confirmed state of
// every patch, one row per uid) and records (every record that went on
// chain, the history of each patch).
//
// patch_state.version is the optimistic lock: every change is one UPDATE …
// WHERE uid_tag_id = ? AND version = ?, so a writer that read an old state
// changes nothing (Errc::conflict) instead of overwriting a newer one.
//
// Ownership and failure model: functions run on the caller's Db (one per
// process, not thread-safe); those marked "in a transaction" belong inside
// the caller's store::with_txn together with the writes they guard. MariaDB
// errors are returned as they are (Errc::deadlock: re-run the transaction);
// nothing here logs, retries or commits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/db.h"
#include "store/pending.h"

namespace pp::store {

struct PatchState {
    std::string uid_tag_id, current_txid, current_record, record_hash, owner_address;
    std::optional<std::string> pending_transfer_id;
    int64_t version = 0;
};

// nullopt when the uid has no confirmed state.
Result<std::optional<PatchState>> load_patch_state(Db &db, std::string_view uid);
// In a transaction: the same read, FOR UPDATE (the row stays locked until
// the transaction ends).
Result<std::optional<PatchState>> lock_patch_state(Db &db, std::string_view uid);

// In a transaction: whether the uid has a confirmed state, read LOCK IN
// SHARE MODE so it sees the latest commit and no confirmation can slip in
// before ours commits.
Result<bool> patch_registered_locked(Db &db, std::string_view uid);

// The uid whose record has this txid (current or historic); nullopt if none.
Result<std::optional<std::string>> uid_of_record(Db &db, std::string_view txid);

// In a transaction: SET pending_transfer_id, version+1 WHERE the state is
// still `s` (same txid and version, no transfer pending). conflict when it moved.
Result<void> lock_for_transfer(Db &db, const PatchState &s, std::string_view pending_id);
// Clears the transfer lock `pending_id` holds; false when it holds none
// (never taken, or already cleared). conflict when the version moved.
Result<bool> clear_pending_transfer(Db &db, std::string_view uid, std::string_view pending_id);

// In a transaction, the confirmation of a registration: the first state of
// `uid`. conflict when the uid already has one.
Result<void> insert_patch_state(Db &db, std::string_view uid, std::string_view txid, std::string_view record,
                                std::string_view record_hash, std::string_view owner);
// In a transaction, the confirmation of a transfer: replaces state `from`
// (as read by lock_patch_state) and clears its transfer lock. conflict when
// the version moved.
Result<void> replace_patch_state(Db &db, const PatchState &from, std::string_view txid, std::string_view record,
                                 std::string_view record_hash, std::string_view owner);

struct RecordRow {
    std::string txid, uid_tag_id;
    PendingKind kind = PendingKind::registration;
    std::string record, record_hash;
    int64_t confirmed_ms = 0;
};

// Appends one history row; conflict when a row with this txid exists.
Result<void> insert_record(Db &db, const RecordRow &r);
// The history row of `txid`; nullopt if none.
Result<std::optional<RecordRow>> find_record(Db &db, std::string_view txid);
// Every record of `uid`, oldest first.
Result<std::vector<RecordRow>> patch_history(Db &db, std::string_view uid);

}  // namespace pp::store

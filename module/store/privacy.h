// SPDX-License-Identifier: MIT
// Privacy export and delete (DESIGN.md §3 "Privacy"): everything stored about
// one JWT subject — an SVD userId or "email:<address>" — read together, and
// removed together.
//
// What a subject's data is: its SVD registration (svd_registrations.user_id),
// the claim intents naming it as the customer (claim_intents.customer_user_id)
// and, for an email subject, its email identity with the codes and outbox
// mail kept for that address. A delete removes the registration and the email
// rows, anonymises the claim intents (customer userId, address and public key
// set to NULL: the intent stays, for the shop and the transfer job, but no
// longer names anyone) and moves the subject's not-before to the second of
// the delete, so app/auth.cpp refuses every token issued up to then.
//
// Ownership and failure model: functions run on the caller's Db (one per
// process, not thread-safe). export_subject reads inside the caller's
// transaction (one consistent snapshot); delete_subject belongs inside the
// caller's store::with_txn, so all of it commits or none does (Errc::deadlock:
// re-run it whole). MariaDB errors are returned as they are; nothing here
// logs, retries or commits. Values are personal data: never log them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/db.h"

namespace pp::store {

// "email:<address>" → the address (the email_identities key); nullopt for an
// SVD subject. The token's sub is already lower-cased by the login route.
std::optional<std::string_view> email_of_subject(std::string_view subject) noexcept;

// Timestamps are ISO 8601 UTC with milliseconds ("2026-01-02T03:04:05.678Z").
struct SvdRegistrationData {
    std::string pmc_hex;
    std::optional<std::string> key_id;
    std::string created_at, updated_at;
};

struct EmailIdentityData {
    std::string identifier, created_at;
    std::optional<std::string> last_login_at;
};

// Every column of a claim intent except its version counter.
struct ClaimIntentData {
    std::string id, uid_tag_id, status, nonce;
    std::optional<std::string> customer_user_id, customer_address, customer_pubkey;
    std::optional<std::string> approved_by, pending_id, txid, error;
    int64_t challenge_ts = 0, expires_ms = 0;
    std::string created_at, updated_at;
};

struct SubjectData {
    std::optional<SvdRegistrationData> svd;
    std::optional<EmailIdentityData> email;  // only for an email subject
    std::vector<ClaimIntentData> claim_intents;  // oldest first
};

Result<SubjectData> export_subject(Db &db, std::string_view subject);

struct SubjectRemoval {
    bool svd_registration = false;
    uint64_t claim_intents_anonymised = 0;
    bool email_identity = false;
    uint64_t email_codes = 0, email_outbox = 0;
    int64_t not_before = 0;  // the cut-off now stored (unix seconds)
};

// In a transaction: removes and anonymises as described above and sets the
// not-before to now_sec (never moved backwards: a host whose clock lags
// cannot re-admit tokens another host's delete refused).
Result<SubjectRemoval> delete_subject(Db &db, std::string_view subject, int64_t now_sec);

}  // namespace pp::store

// SPDX-License-Identifier: MIT
// Email code login's tables (sql/0004_operations.sql): email_codes (each code
// only as its crypto_pwhash_str hash), email_outbox (sealed mail for
// patchproof-worker) and email_identities. Identifiers are already
// normalised (module/email/mail.h); times are unix milliseconds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/db.h"

namespace pp::store {

struct EmailCode {
    uint64_t id = 0;
    std::string hash;
    int64_t expires_ms = 0;
    uint32_t version = 0;
};

struct NewEmailCode {
    std::string_view identifier;
    std::string_view code_hash;
    int64_t expires_ms = 0;
    std::string_view nonce;       // raw bytes of the sealed mail
    std::string_view ciphertext;
};

struct CodeRequest {
    bool stored = false;            // false: max_outstanding codes are live
    int64_t oldest_expires_ms = 0;  // when !stored: when the oldest one ends
};

// One transaction: locks the identifier's code rows (so two requests count
// one after the other), drops its dead codes, and, when fewer than
// max_outstanding are live at now_ms, inserts the code and its outbox row.
Result<CodeRequest> store_code_request(Db &db, const NewEmailCode &code, int64_t now_ms, size_t max_outstanding);

// The identifier's live codes (not used, not void, not expired), oldest
// first, at most limit.
Result<std::vector<EmailCode>> live_codes(Db &db, std::string_view identifier, int64_t now_ms, size_t limit);

// One transaction: marks code used (guarded by its version and liveness),
// voids the identifier's other live codes, deletes its unsent outbox mail
// (those codes are void) and records the login in email_identities. false: the code was used, voided or expired meanwhile.
Result<bool> consume_code(Db &db, std::string_view identifier, const EmailCode &code, int64_t now_ms);

// Voids every live code of the identifier; the number voided.
Result<uint64_t> void_codes(Db &db, std::string_view identifier, int64_t now_ms);

struct OutboxMail {
    uint64_t id = 0;
    std::string identifier;
    std::string nonce;
    std::string ciphertext;
    uint32_t attempts = 0;
    uint32_t version = 0;  // as leased by us
};

// Leases up to limit rows due at now_ms (no live lease of another worker),
// each by a version-guarded UPDATE, for lease_ms.
Result<std::vector<OutboxMail>> lease_outbox(Db &db, std::string_view owner, int64_t now_ms, int64_t lease_ms,
                                             size_t limit);
// The server accepted it: the row goes. false: our lease was lost.
Result<bool> outbox_sent(Db &db, const OutboxMail &mail);
// Not sent: the lease ends, attempts + 1, next try at next_attempt_ms.
// error must carry no secret (it is stored).
Result<bool> outbox_retry(Db &db, const OutboxMail &mail, int64_t next_attempt_ms, std::string_view error);
// Drops rows older than max_age_sec (their code has expired): the number.
Result<uint64_t> drop_stale_outbox(Db &db, int64_t max_age_sec);

}  // namespace pp::store

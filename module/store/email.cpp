// SPDX-License-Identifier: MIT
#include "store/email.h"

#include "crypto/encoding.h"
#include "store/row.h"
#include "store/txn.h"

namespace pp::store {
namespace {

constexpr std::string_view kLive = "used_ms IS NULL AND void_ms IS NULL AND expires_ms > ?";

Result<void> done(const Result<uint64_t> &r)
{
    if (!r)
        return r.error();
    return {};
}

}  // namespace

Result<CodeRequest> store_code_request(Db &db, const NewEmailCode &code, int64_t now_ms, size_t max_outstanding)
{
    const std::string nonce_hex = crypto::hex_encode(crypto::as_bytes(code.nonce));
    const std::string body_hex = crypto::hex_encode(crypto::as_bytes(code.ciphertext));
    return with_txn(db, [&](Txn &t) -> Result<CodeRequest> {
        // Every row of the identifier (and, when it has none, the index gap
        // where its rows go) is locked: a concurrent request for the same
        // address waits here, or deadlocks and is re-run, and then counts ours.
        auto rows = t.db().query("SELECT id, expires_ms, (used_ms IS NULL AND void_ms IS NULL) FROM email_codes "
                                 "WHERE identifier = ? ORDER BY expires_ms FOR UPDATE",
                                 {code.identifier});
        if (!rows)
            return rows.error();
        CodeRequest out;
        size_t live = 0;
        for (const Row &row : *rows) {
            auto expires = col_int<int64_t>(row, 1);
            auto unused = col_int<int>(row, 2);
            if (!expires || !unused)
                return Errc::internal;
            if (*unused && *expires > now_ms && live++ == 0)
                out.oldest_expires_ms = *expires;
        }
        if (live >= max_outstanding)
            return out;
        if (auto r = done(t.db().execute("DELETE FROM email_codes WHERE identifier = ? AND "
                                         "(used_ms IS NOT NULL OR void_ms IS NOT NULL OR expires_ms <= ?)",
                                         {code.identifier, now_ms}));
            !r)
            return r.error();
        if (auto r = done(t.db().execute("INSERT INTO email_codes (identifier, code_hash, expires_ms) VALUES (?, ?, ?)",
                                         {code.identifier, code.code_hash, code.expires_ms}));
            !r)
            return r.error();
        if (auto r = done(t.db().execute("INSERT INTO email_outbox (identifier, nonce, ciphertext, next_attempt_ms) "
                                         "VALUES (?, UNHEX(?), UNHEX(?), ?)",
                                         {code.identifier, std::string_view(nonce_hex), std::string_view(body_hex),
                                          now_ms}));
            !r)
            return r.error();
        out.stored = true;
        out.oldest_expires_ms = 0;
        return out;
    });
}

Result<std::vector<EmailCode>> live_codes(Db &db, std::string_view identifier, int64_t now_ms, size_t limit)
{
    auto rows = db.query(std::string("SELECT id, code_hash, expires_ms, version FROM email_codes WHERE identifier = ? "
                                     "AND ") +
                             std::string(kLive) + " ORDER BY expires_ms, id LIMIT ?",
                         {identifier, now_ms, static_cast<int64_t>(limit)});
    if (!rows)
        return rows.error();
    std::vector<EmailCode> out;
    for (const Row &row : *rows) {
        auto id = col_int<uint64_t>(row, 0);
        auto expires = col_int<int64_t>(row, 2);
        auto version = col_int<uint32_t>(row, 3);
        if (!id || !row[1] || !expires || !version)
            return Errc::internal;
        out.push_back(EmailCode{*id, *row[1], *expires, *version});
    }
    return out;
}

Result<bool> consume_code(Db &db, std::string_view identifier, const EmailCode &code, int64_t now_ms)
{
    return with_txn(db, [&](Txn &t) -> Result<bool> {
        auto used = t.db().execute(std::string("UPDATE email_codes SET used_ms = ?, version = version + 1 "
                                               "WHERE id = ? AND identifier = ? AND version = ? AND ") +
                                       std::string(kLive),
                                   {now_ms, static_cast<int64_t>(code.id), identifier,
                                    static_cast<int64_t>(code.version), now_ms});
        if (!used)
            return used.error();
        if (*used != 1)
            return false;
        if (auto r = done(t.db().execute("UPDATE email_codes SET void_ms = ?, version = version + 1 "
                                         "WHERE identifier = ? AND id <> ? AND used_ms IS NULL AND void_ms IS NULL",
                                         {now_ms, identifier, static_cast<int64_t>(code.id)}));
            !r)
            return r.error();
        // Unsent mail carries codes that are void now: never send it. A row
        // a worker is sending right now is left to it.
        if (auto r = done(t.db().execute("DELETE FROM email_outbox WHERE identifier = ? AND lease_until_ms <= ?",
                                         {identifier, now_ms}));
            !r)
            return r.error();
        if (auto r = done(t.db().execute("INSERT INTO email_identities (identifier, created_at, last_login_at) "
                                         "VALUES (?, CURRENT_TIMESTAMP(3), CURRENT_TIMESTAMP(3)) "
                                         "ON DUPLICATE KEY UPDATE last_login_at = CURRENT_TIMESTAMP(3)",
                                         {identifier}));
            !r)
            return r.error();
        return true;
    });
}

Result<uint64_t> void_codes(Db &db, std::string_view identifier, int64_t now_ms)
{
    // Many hosts may void one identifier's codes at once (a burst of wrong
    // guesses): a deadlock between them is re-run, never a 503.
    return with_txn(db, [&](Txn &t) {
        return t.db().execute(
            std::string("UPDATE email_codes SET void_ms = ?, version = version + 1 WHERE identifier = ? AND ") +
                std::string(kLive),
            {now_ms, identifier, now_ms});
    });
}

Result<std::vector<OutboxMail>> lease_outbox(Db &db, std::string_view owner, int64_t now_ms, int64_t lease_ms,
                                             size_t limit)
{
    auto due = db.query("SELECT id, version FROM email_outbox WHERE next_attempt_ms <= ? AND lease_until_ms <= ? "
                        "ORDER BY next_attempt_ms, id LIMIT ?",
                        {now_ms, now_ms, static_cast<int64_t>(limit)});
    if (!due)
        return due.error();
    std::vector<OutboxMail> out;
    for (const Row &cand : *due) {
        auto id = col_int<uint64_t>(cand, 0);
        auto version = col_int<uint32_t>(cand, 1);
        if (!id || !version)
            return Errc::internal;
        // Another worker may have taken it since the SELECT: the version says.
        auto took = db.execute("UPDATE email_outbox SET lease_owner = ?, lease_until_ms = ?, version = version + 1 "
                               "WHERE id = ? AND version = ? AND lease_until_ms <= ?",
                               {owner, now_ms + lease_ms, static_cast<int64_t>(*id), static_cast<int64_t>(*version),
                                now_ms});
        if (!took)
            return took.error();
        if (*took != 1)
            continue;
        auto rows = db.query("SELECT identifier, nonce, ciphertext, attempts, version FROM email_outbox WHERE id = ?",
                             {static_cast<int64_t>(*id)});
        if (!rows)
            return rows.error();
        if (rows->empty())
            continue;
        const Row &row = (*rows)[0];
        auto attempts = col_int<uint32_t>(row, 3);
        auto now_version = col_int<uint32_t>(row, 4);
        if (!row[0] || !row[1] || !row[2] || !attempts || !now_version)
            return Errc::internal;
        out.push_back(OutboxMail{*id, *row[0], *row[1], *row[2], *attempts, *now_version});
    }
    return out;
}

Result<bool> outbox_sent(Db &db, const OutboxMail &mail)
{
    auto n = db.execute("DELETE FROM email_outbox WHERE id = ? AND version = ?",
                        {static_cast<int64_t>(mail.id), static_cast<int64_t>(mail.version)});
    if (!n)
        return n.error();
    return *n == 1;
}

Result<bool> outbox_retry(Db &db, const OutboxMail &mail, int64_t next_attempt_ms, std::string_view error)
{
    auto n = db.execute("UPDATE email_outbox SET attempts = attempts + 1, next_attempt_ms = ?, last_error = ?, "
                        "lease_owner = NULL, lease_until_ms = 0, version = version + 1 WHERE id = ? AND version = ?",
                        {next_attempt_ms, error.substr(0, 255), static_cast<int64_t>(mail.id),
                         static_cast<int64_t>(mail.version)});
    if (!n)
        return n.error();
    return *n == 1;
}

Result<uint64_t> drop_stale_outbox(Db &db, int64_t max_age_sec)
{
    return db.execute("DELETE FROM email_outbox WHERE created_at < CURRENT_TIMESTAMP(3) - INTERVAL ? SECOND",
                      {max_age_sec});
}

}  // namespace pp::store

// SPDX-License-Identifier: MIT
// The pure pieces of email code login (DESIGN.md §3 "Email code login"),
// shared by patchproof-fcgi (which writes codes and sealed mail) and
// patchproof-worker (which opens and sends the mail): identifier rules, the
// code's format, hash and random draw, the RFC 5322 message, and the outbox
// seal (libsodium secretbox under AUTH_OUTBOX_KEY). No I/O here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "crypto/secret.h"

namespace pp::email {

inline constexpr size_t kMaxIdentifierChars = 254;
inline constexpr size_t kMaxLocalChars = 64;
inline constexpr size_t kCodeDigits = 6;
inline constexpr size_t kMaxOutstandingCodes = 5;

// crypto_pwhash_str cost of one code hash (Argon2id). A code lives 15
// minutes and guessing is capped online, so the hash only has to make an
// offline search of a stolen table slow; it must stay cheap enough that one
// pre-forked worker can hash once per request and verify up to
// kMaxOutstandingCodes per submit (about 10 ms each on one core).
inline constexpr unsigned long long kCodeHashOpsLimit = 2;
inline constexpr size_t kCodeHashMemLimit = size_t{8} << 20;  // 8 MiB

// The lower-cased address, or nullopt when raw is not local@domain: at most
// 254 characters, one '@', a dot-atom local part (≤ 64) and a host name of
// letters, digits and hyphens; no spaces, no control or non-ASCII bytes (so
// it is safe in a header and an SMTP envelope as it is).
std::optional<std::string> normalize_identifier(std::string_view raw);

// Exactly six ASCII digits.
bool valid_code(std::string_view code) noexcept;

// A fresh uniform 6-digit code (leading zeros kept).
std::string random_code();

// crypto_pwhash_str of the code at the cost above; Errc::internal when
// libsodium could not allocate.
Result<std::string> hash_code(std::string_view code);
// True when hash is a crypto_pwhash_str of code (any cost).
bool code_matches(std::string_view code, const std::string &hash) noexcept;

// The addr-spec of a From value: the text between '<' and '>' of
// "Name <addr>", else the whole value. Empty when it holds a CR, LF or other
// control byte, or no '@'.
std::string envelope_address(std::string_view from);

struct CodeMail {
    std::string_view from;        // EMAIL_FROM, as the From header
    std::string_view to;          // a normalised identifier
    std::string_view code;
    int64_t ttl_sec = 0;
    int64_t now_sec = 0;          // the Date header
    std::string_view message_id;  // the left part of Message-ID (random hex)
};

// The whole RFC 5322 message, CRLF line ends, the code on a line of its own.
// Errc::invalid_argument when from or to could break a header.
Result<std::string> compose_code_mail(const CodeMail &mail);

// "Tue, 01 Dec 2026 20:18:00 +0000" (RFC 5322 date-time in UTC).
std::string rfc5322_date(int64_t unix_sec);

using OutboxKey = crypto::Secret<32>;

// AUTH_OUTBOX_KEY (64 hex characters) as key bytes.
Result<OutboxKey> outbox_key(std::string_view hex);

struct Sealed {
    std::string nonce;       // 24 random bytes
    std::string ciphertext;  // secretbox: 16-byte tag ‖ message
};
Sealed seal(const OutboxKey &key, std::string_view plain);
// Errc::verify_failed for a wrong key, nonce or any changed byte.
Result<std::string> open(const OutboxKey &key, std::string_view nonce, std::string_view ciphertext);

// Overwrites a string's bytes before it is dropped (it held a code).
void wipe(std::string &s) noexcept;

}  // namespace pp::email

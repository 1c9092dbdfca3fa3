// SPDX-License-Identifier: MIT
#include "email/mail.h"

#include <sodium.h>

#include <cstdio>
#include <cstring>
#include <ctime>

#include "crypto/encoding.h"

namespace pp::email {
namespace {

bool is_alnum(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 5322 atext: letters, digits and these; no specials, no quotes.
bool is_atext(char c) noexcept
{
    return is_alnum(c) || std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr;
}

bool valid_local(std::string_view s) noexcept
{
    if (s.empty() || s.size() > kMaxLocalChars || s.front() == '.' || s.back() == '.')
        return false;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '.') {
            if (s[i - 1] == '.')
                return false;
        } else if (s[i] == '\0' || !is_atext(s[i])) {
            return false;
        }
    }
    return true;
}

bool valid_label(std::string_view l) noexcept
{
    if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-')
        return false;
    for (char c : l)
        if (!is_alnum(c) && c != '-')
            return false;
    return true;
}

bool valid_domain(std::string_view d) noexcept
{
    if (d.empty())
        return false;
    size_t start = 0;
    while (true) {
        const size_t dot = d.find('.', start);
        if (!valid_label(d.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start)))
            return false;
        if (dot == std::string_view::npos)
            return true;
        start = dot + 1;
    }
}

// No byte that could end or fold a header line.
bool header_safe(std::string_view s) noexcept
{
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f)
            return false;
    return true;
}

}  // namespace

std::optional<std::string> normalize_identifier(std::string_view raw)
{
    if (raw.size() < 3 || raw.size() > kMaxIdentifierChars)
        return std::nullopt;
    const size_t at = raw.find('@');
    if (at == std::string_view::npos || raw.find('@', at + 1) != std::string_view::npos)
        return std::nullopt;
    if (!valid_local(raw.substr(0, at)) || !valid_domain(raw.substr(at + 1)))
        return std::nullopt;
    std::string out(raw);
    for (char &c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool valid_code(std::string_view code) noexcept
{
    if (code.size() != kCodeDigits)
        return false;
    for (char c : code)
        if (c < '0' || c > '9')
            return false;
    return true;
}

std::string random_code()
{
    uint32_t n = randombytes_uniform(1000000);
    std::string out(kCodeDigits, '0');
    for (size_t i = kCodeDigits; i-- > 0; n /= 10)
        out[i] = static_cast<char>('0' + n % 10);
    return out;
}

Result<std::string> hash_code(std::string_view code)
{
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(out, code.data(), code.size(), kCodeHashOpsLimit, kCodeHashMemLimit) != 0)
        return Errc::internal;
    return std::string(out);
}

bool code_matches(std::string_view code, const std::string &hash) noexcept
{
    // The stored text is NUL-free and bounded by its column; c_str() ends it.
    if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES)
        return false;
    return crypto_pwhash_str_verify(hash.c_str(), code.data(), code.size()) == 0;
}

std::string envelope_address(std::string_view from)
{
    if (!header_safe(from))
        return {};
    std::string_view addr = from;
    const size_t lt = from.rfind('<');
    if (lt != std::string_view::npos) {
        const size_t gt = from.find('>', lt);
        if (gt == std::string_view::npos)
            return {};
        addr = from.substr(lt + 1, gt - lt - 1);
    }
    if (addr.find('@') == std::string_view::npos || addr.find_first_of(" <>\"") != std::string_view::npos)
        return {};
    return std::string(addr);
}

std::string rfc5322_date(int64_t unix_sec)
{
    static constexpr const char *days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const std::time_t t = static_cast<std::time_t>(unix_sec);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
                  months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

Result<std::string> compose_code_mail(const CodeMail &m)
{
    const std::string from_addr = envelope_address(m.from);
    if (from_addr.empty() || !normalize_identifier(m.to) || !valid_code(m.code) || !header_safe(m.message_id) ||
        m.message_id.empty())
        return Errc::invalid_argument;
    const std::string domain = from_addr.substr(from_addr.rfind('@') + 1);
    const int64_t minutes = (m.ttl_sec + 59) / 60;
    std::string out;
    out.reserve(640);
    auto line = [&out](std::string_view a, std::string_view b = {}) {
        out.append(a);
        out.append(b);
        out.append("\r\n");
    };
    line("From: ", m.from);
    line("To: ", m.to);
    line("Subject: Your PatchProof sign-in code");
    line("Date: ", rfc5322_date(m.now_sec));
    line("Message-ID: <" + std::string(m.message_id) + "@" + domain + ">");
    line("MIME-Version: 1.0");
    line("Content-Type: text/plain; charset=utf-8");
    line("Content-Transfer-Encoding: 7bit");
    line("Auto-Submitted: auto-generated");
    line("");
    line("Your PatchProof sign-in code is:");
    line("");
    line(m.code);
    line("");
    line("It works once, for " + std::to_string(minutes) + (minutes == 1 ? " minute." : " minutes."));
    line("If you did not ask to sign in, you can ignore this message.");
    return out;
}

Result<OutboxKey> outbox_key(std::string_view hex)
{
    OutboxKey key;
    if (hex.size() != 2 * OutboxKey::size() || !crypto::hex_decode_into(key.span(), hex).ok())
        return Errc::invalid_argument;
    return key;
}

Sealed seal(const OutboxKey &key, std::string_view plain)
{
    Sealed s;
    s.nonce.resize(crypto_secretbox_NONCEBYTES);
    randombytes_buf(s.nonce.data(), s.nonce.size());
    s.ciphertext.resize(crypto_secretbox_MACBYTES + plain.size());
    crypto_secretbox_easy(reinterpret_cast<unsigned char *>(s.ciphertext.data()),
                          reinterpret_cast<const unsigned char *>(plain.data()), plain.size(),
                          reinterpret_cast<const unsigned char *>(s.nonce.data()), key.data());
    return s;
}

Result<std::string> open(const OutboxKey &key, std::string_view nonce, std::string_view ciphertext)
{
    if (nonce.size() != crypto_secretbox_NONCEBYTES || ciphertext.size() < crypto_secretbox_MACBYTES)
        return Errc::verify_failed;
    std::string plain(ciphertext.size() - crypto_secretbox_MACBYTES, '\0');
    if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char *>(plain.data()),
                                   reinterpret_cast<const unsigned char *>(ciphertext.data()), ciphertext.size(),
                                   reinterpret_cast<const unsigned char *>(nonce.data()), key.data()) != 0)
        return Errc::verify_failed;
    return plain;
}

void wipe(std::string &s) noexcept
{
    if (!s.empty())
        sodium_memzero(s.data(), s.size());
    s.clear();
}

}  // namespace pp::email

// SPDX-License-Identifier: MIT
// email/mail.h: identifier rules and lower-casing, the code's format, random
// draw and slow hash, the RFC 5322 message (headers, CRLF, the code on a line
// of its own, nothing injectable), and the outbox seal's round trip and
// refusals.
#include <sodium.h>

#include <set>
#include <string>

#include "email/mail.h"

#include "vectors.h"  // last: cmocka's fail() macro must not meet <ios>

using namespace pp;
using namespace pp::email;

namespace {

void identifiers_are_normalised_or_refused(void **)
{
    assert_string_equal(normalize_identifier("Alice.B+tag@Example.COM")->c_str(), "alice.b+tag@example.com");
    assert_string_equal(normalize_identifier("x@localhost")->c_str(), "x@localhost");
    const char *bad[] = {"", "alice", "@example.com", "alice@", "a b@example.com", "alice@exa mple.com",
                         "a@b@c.com", "alice@example..com", ".alice@example.com", "alice.@example.com",
                         "al..ice@example.com", "alice@-example.com", "alice@example.com ", " alice@example.com",
                         "alice@example.com\r\nBcc: x@y.z", "al\"ice@example.com", "alice@ex_ample.com",
                         "<alice@example.com>", "al\tice@example.com", "alice@example.com.", "a\xc3\xa9@x.com"};
    for (const char *b : bad)
        assert_false(normalize_identifier(b).has_value());
    // A NUL inside is refused, not truncated.
    assert_false(normalize_identifier(std::string_view("a\0b@example.com", 15)).has_value());

    // 254 characters pass, 255 do not; the local part is at most 64.
    const std::string local(64, 'a');
    const std::string label(60, 'b');
    const std::string domain = label + "." + label + "." + label + "." + std::string(6, 'c');
    const std::string max = local + "@" + domain;
    assert_int_equal(max.size(), 254);
    assert_true(normalize_identifier(max).has_value());
    assert_false(normalize_identifier(max + "b").has_value());
    assert_false(normalize_identifier(std::string(65, 'a') + "@example.com").has_value());
}

void codes_are_six_digits(void **)
{
    assert_true(valid_code("000000"));
    assert_true(valid_code("123456"));
    assert_false(valid_code("12345"));
    assert_false(valid_code("1234567"));
    assert_false(valid_code("12345a"));
    assert_false(valid_code(" 12345"));
    assert_false(valid_code("１２３４５６"));
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        const std::string c = random_code();
        assert_true(valid_code(c));
        seen.insert(c);
    }
    assert_true(seen.size() > 190);  // 200 draws of 10^6: a repeat or two at most
}

void code_hash_verifies_only_its_code(void **)
{
    auto h = hash_code("042917");
    assert_true(h.ok());
    assert_true(h->rfind("$argon2id$", 0) == 0);
    assert_true(h->find("042917") == std::string::npos);
    assert_true(code_matches("042917", *h));
    assert_false(code_matches("042918", *h));
    assert_false(code_matches("042917", ""));
    assert_false(code_matches("042917", "$argon2id$garbage"));
    // A fresh salt each time.
    auto h2 = hash_code("042917");
    assert_true(h2.ok());
    assert_string_not_equal(h->c_str(), h2->c_str());
}

void message_has_headers_and_the_code_on_its_own_line(void **)
{
    CodeMail m{"PatchProof <no-reply@mail.example>", "bob@example.com", "007123", 900, 1796155080, "abcdef"};
    auto msg = compose_code_mail(m);
    assert_true(msg.ok());
    const std::string &s = *msg;
    assert_true(s.rfind("From: PatchProof <no-reply@mail.example>\r\n", 0) == 0);
    assert_true(s.find("\r\nTo: bob@example.com\r\n") != std::string::npos);
    assert_true(s.find("\r\nSubject: ") != std::string::npos);
    assert_true(s.find("\r\nDate: Tue, 01 Dec 2026 19:58:00 +0000\r\n") != std::string::npos);
    assert_true(s.find("\r\nMessage-ID: <abcdef@mail.example>\r\n") != std::string::npos);
    assert_true(s.find("\r\nContent-Type: text/plain; charset=utf-8\r\n") != std::string::npos);
    const size_t body = s.find("\r\n\r\n");
    assert_true(body != std::string::npos);
    assert_true(s.find("\r\n007123\r\n", body) != std::string::npos);
    assert_true(s.find("15 minutes") != std::string::npos);
    // Every line ends in CRLF: no bare LF or CR.
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n')
            assert_true(i > 0 && s[i - 1] == '\r');
        if (s[i] == '\r')
            assert_true(i + 1 < s.size() && s[i + 1] == '\n');
    }
    assert_true(s.size() >= 2 && s.substr(s.size() - 2) == "\r\n");
}

void message_refuses_what_could_break_a_header(void **)
{
    CodeMail m{"a@b.example", "bob@example.com", "123456", 60, 0, "id"};
    assert_true(compose_code_mail(m).ok());
    CodeMail bad_from = m;
    bad_from.from = "x@y.example\r\nBcc: eve@evil.example";
    assert_int_equal(compose_code_mail(bad_from).error(), Errc::invalid_argument);
    CodeMail no_addr = m;
    no_addr.from = "PatchProof";
    assert_int_equal(compose_code_mail(no_addr).error(), Errc::invalid_argument);
    CodeMail bad_to = m;
    bad_to.to = "bob@example.com\r\nBcc: eve@evil.example";
    assert_int_equal(compose_code_mail(bad_to).error(), Errc::invalid_argument);
    CodeMail bad_code = m;
    bad_code.code = "12345";
    assert_int_equal(compose_code_mail(bad_code).error(), Errc::invalid_argument);
    assert_string_equal(envelope_address("Name <a@b.example>").c_str(), "a@b.example");
    assert_string_equal(envelope_address("a@b.example").c_str(), "a@b.example");
    assert_string_equal(envelope_address("Name <a@b.example").c_str(), "");
    assert_string_equal(envelope_address("Name <nobody>").c_str(), "");
}

void outbox_seal_round_trips_and_refuses_tampering(void **)
{
    auto key = outbox_key(std::string(64, 'a'));
    assert_true(key.ok());
    assert_false(outbox_key(std::string(63, 'a')).ok());
    assert_false(outbox_key(std::string(64, 'z')).ok());
    const std::string plain = "To: bob@example.com\r\n\r\n123456\r\n";
    Sealed s = seal(*key, plain);
    assert_int_equal(s.nonce.size(), 24);
    assert_int_equal(s.ciphertext.size(), plain.size() + 16);
    assert_true(s.ciphertext.find("123456") == std::string::npos);
    auto back = open(*key, s.nonce, s.ciphertext);
    assert_true(back.ok());
    assert_true(*back == plain);
    // Two seals of one message differ (fresh nonce).
    Sealed s2 = seal(*key, plain);
    assert_true(s2.nonce != s.nonce && s2.ciphertext != s.ciphertext);

    std::string flipped = s.ciphertext;
    flipped[flipped.size() / 2] ^= 1;
    assert_int_equal(open(*key, s.nonce, flipped).error(), Errc::verify_failed);
    std::string other_nonce = s.nonce;
    other_nonce[0] ^= 1;
    assert_int_equal(open(*key, other_nonce, s.ciphertext).error(), Errc::verify_failed);
    auto other_key = outbox_key(std::string(64, 'b'));
    assert_int_equal(open(*other_key, s.nonce, s.ciphertext).error(), Errc::verify_failed);
    assert_int_equal(open(*key, s.nonce, s.ciphertext.substr(0, 10)).error(), Errc::verify_failed);
    assert_int_equal(open(*key, s.nonce.substr(1), s.ciphertext).error(), Errc::verify_failed);
}

void wipe_clears(void **)
{
    std::string s = "123456";
    wipe(s);
    assert_true(s.empty());
}

}  // namespace

int main()
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identifiers_are_normalised_or_refused),
        cmocka_unit_test(codes_are_six_digits),
        cmocka_unit_test(code_hash_verifies_only_its_code),
        cmocka_unit_test(message_has_headers_and_the_code_on_its_own_line),
        cmocka_unit_test(message_refuses_what_could_break_a_header),
        cmocka_unit_test(outbox_seal_round_trips_and_refuses_tampering),
        cmocka_unit_test(wipe_clears),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

// SPDX-License-Identifier: MIT
// module/registry/records.h: the exact bytes we sign and hash about patches.
// Expected strings and digests were produced independently with Python's
// json.dumps(ensure_ascii=False, separators=(',', ':')) and hashlib, which
// escape like JSON.stringify for these inputs. The signing key is derived
// from a seed that is printed and can be replayed with PP_TEST_SEED.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "common/json.h"
#include "crypto/base58.h"
#include "crypto/canonical_json.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/secp256k1.h"
#include "registry/records.h"

// Last: cmocka defines macros (fail, expect_*) that clash with standard headers.
#include "vectors.h"

using pp::Errc;
using pp::JsonPtr;
namespace reg = pp::registry;
namespace crypto = pp::crypto;

namespace {

unsigned long long g_seed = 0;

JsonPtr parse(const char *text)
{
    json_error_t err;
    JsonPtr j(json_loads(text, 0, &err));
    if (!j) fail_msg("test JSON does not parse: %s", err.text);
    return j;
}

std::string str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) fail_msg("%s is not a string", key);
    return json_string_value(v);
}

// Metadata deliberately not in sorted order, with quotes and non-ASCII.
constexpr const char *kMetadata =
    R"({"patch_location":"left sleeve","notes":"Größe \"XL\" — über","image":"https://img.example/p/1.png"})";
constexpr const char *kMetadataSha = "b8b85bb4fea713a29800ade5e0cb917e663d9680cf40bf7683ea348199b14464";
constexpr const char *kProduct = R"({"uid_tag_id":"NFC:04:A1.b_c-9","name":"Jersey \"Home\"","sku":"SKU-1"})";
constexpr const char *kUid = "NFC:04:A1.b_c-9";
constexpr const char *kOwner = "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn";
constexpr int64_t kTs = 1700000000123;

// A deterministic key for this run, from the seed.
crypto::Secret<32> seeded_key()
{
    std::string seed_text = "test_records:" + std::to_string(g_seed);
    crypto::Hash256 h = crypto::sha256(crypto::as_bytes(seed_text));
    crypto::Secret<32> sk(std::span<const uint8_t, 32>(h.data(), 32));
    if (!crypto::seckey_valid(sk)) fail_msg("seed gives an invalid key; try another PP_TEST_SEED");
    return sk;
}

std::string pubkey_hex(const crypto::Secret<32> &sk)
{
    auto pk = crypto::pubkey_from_seckey(sk);
    assert_true(pk.ok());
    return crypto::hex_encode(crypto::serialize_pubkey(*pk));
}

std::string sign_hex(const crypto::Secret<32> &sk, const std::string &message)
{
    crypto::Hash256 d = crypto::sha256(crypto::as_bytes(message));
    auto der = crypto::ecdsa_sign_der(sk, d);
    assert_true(der.ok());
    return crypto::hex_encode(*der);
}

// A registration record signed by the seeded "issuer" key, as the service builds it.
JsonPtr signed_registration(const crypto::Secret<32> &issuer)
{
    JsonPtr product = parse(kProduct), metadata = parse(kMetadata);
    auto msha = reg::metadata_sha256(metadata.get());
    assert_true(msha.ok());
    const std::string c = reg::issuer_message(kUid, *msha, kTs);
    reg::IssuerSignature sig{sign_hex(issuer, c), pubkey_hex(issuer)};
    auto rec = reg::registration_record(product.get(), metadata.get(), kOwner, sig, kTs);
    assert_true(rec.ok());
    return std::move(*rec);
}

// ---------------------------------------------------------------- patterns

void uid_patterns(void **)
{
    assert_true(reg::valid_uid("abc"));
    assert_true(reg::valid_uid("NFC:04:A1.b_c-9"));
    assert_true(reg::valid_uid(std::string(128, 'x')));
    assert_false(reg::valid_uid(""));
    assert_false(reg::valid_uid("ab"));
    assert_false(reg::valid_uid(std::string(129, 'x')));
    assert_false(reg::valid_uid("has space"));
    assert_false(reg::valid_uid("a/b/c"));
    assert_false(reg::valid_uid("quote\"d"));
    assert_false(reg::valid_uid("ümlaut"));
    assert_false(reg::valid_uid("percent%3A"));
    assert_false(reg::valid_uid(std::string("ab\0c", 4)));

    for (const char *r : {"verify", "pending", "proof", "TAG.pdf", "a.PDF", "x.Pdf", ".pdf"})
        assert_true(reg::reserved_uid(r));
    for (const char *ok : {"Verify", "proofs", "pending1", "TAG.pdfx", "pdf", "a.pd", "abc"})
        assert_false(reg::reserved_uid(ok));
}

void other_patterns(void **)
{
    assert_true(reg::valid_txid(std::string(64, 'a')));
    assert_true(reg::valid_txid(std::string(64, 'F')));
    assert_false(reg::valid_txid(std::string(63, 'a')));
    assert_false(reg::valid_txid(std::string(63, 'a') + "g"));
    assert_true(reg::valid_id32(std::string(32, '0')));
    assert_false(reg::valid_id32(std::string(33, '0')));
    assert_true(reg::valid_signature_hex("30aB"));
    assert_false(reg::valid_signature_hex(""));
    assert_false(reg::valid_signature_hex("30a"));
    assert_false(reg::valid_signature_hex("zz"));
    assert_false(reg::valid_signature_hex(std::string(148, 'a')));
    assert_true(reg::valid_signature_hex(std::string(146, 'a')));

    assert_true(reg::valid_http_url("https://img.example/p.png"));
    assert_true(reg::valid_http_url("HTTP://host"));
    assert_true(reg::valid_http_url("http://user@host:8080/x?y#z"));
    assert_false(reg::valid_http_url("ftp://host/x"));
    assert_false(reg::valid_http_url("javascript:alert(1)"));
    assert_false(reg::valid_http_url("https://"));
    assert_false(reg::valid_http_url("https:///path"));
    assert_false(reg::valid_http_url("https://host/a b"));
    assert_false(reg::valid_http_url("https://host/\n"));
    assert_false(reg::valid_http_url("https://" + std::string(reg::kImageUrlMaxBytes, 'a')));

    assert_true(reg::valid_nonce("abcdef"));
    assert_true(reg::valid_nonce(std::string(128, '~')));
    assert_false(reg::valid_nonce("abcde"));
    assert_false(reg::valid_nonce(std::string(129, 'a')));
    assert_false(reg::valid_nonce("abc def"));
    assert_false(reg::valid_nonce("abcdeé"));

    assert_true(pp::valid_user_id("u_1-A"));
    assert_false(pp::valid_user_id(""));
    assert_false(pp::valid_user_id(std::string(65, 'a')));
    assert_false(pp::valid_user_id("a.b"));
}

void percent_decoding(void **)
{
    auto a = reg::percent_decode_segment("NFC%3A04%3a1");
    assert_true(a.ok());
    assert_string_equal(a->c_str(), "NFC:04:1");
    auto b = reg::percent_decode_segment("plain");
    assert_true(b.ok());
    assert_string_equal(b->c_str(), "plain");
    assert_int_equal(reg::percent_decode_segment("bad%").error(), Errc::bad_hex);
    assert_int_equal(reg::percent_decode_segment("bad%4").error(), Errc::bad_hex);
    assert_int_equal(reg::percent_decode_segment("bad%zz").error(), Errc::bad_hex);
    assert_int_equal(reg::percent_decode_segment("a%2Fb").error(), Errc::invalid_argument);
    assert_int_equal(reg::percent_decode_segment("a%00b").error(), Errc::invalid_argument);
}

// ---------------------------------------------------------------- messages

void issuer_message_literal(void **)
{
    JsonPtr metadata = parse(kMetadata);
    auto msha = reg::metadata_sha256(metadata.get());
    assert_true(msha.ok());
    assert_string_equal(msha->c_str(), kMetadataSha);
    // The sorted form hashes differently: the order received is what counts.
    auto sorted = crypto::canonical_json(metadata.get(), crypto::KeyOrder::sorted);
    assert_true(sorted.ok());
    assert_string_equal(crypto::hex_encode(crypto::sha256(crypto::as_bytes(*sorted))).c_str(),
                        "baf2e1b773d375a40393e791bdde7d6c595e93e7b2fb2f80908ba0a9890923d1");

    const std::string c = reg::issuer_message(kUid, *msha, kTs);
    assert_string_equal(c.c_str(),
                        R"({"metadata_sha256":"b8b85bb4fea713a29800ade5e0cb917e663d9680cf40bf7683ea348199b14464",)"
                        R"("purpose":"register_patch","ts":1700000000123,"uid_tag_id":"NFC:04:A1.b_c-9"})");
    assert_int_equal(reg::metadata_sha256(nullptr).error(), Errc::invalid_argument);
    JsonPtr arr(json_array());
    assert_int_equal(reg::metadata_sha256(arr.get()).error(), Errc::invalid_argument);
    JsonPtr real = parse(R"({"x":1.5})");
    assert_int_equal(reg::metadata_sha256(real.get()).error(), Errc::bad_json);
}

void signed_message_literals(void **)
{
    // Quotes, a newline and non-ASCII are escaped as JSON.stringify does.
    const std::string t = reg::transfer_message("a\"bé\n", "AB01", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn");
    assert_string_equal(t.c_str(), "{\"purpose\":\"transfer_ownership\",\"uid_tag_id\":\"a\\\"bé\\n\","
                                   "\"currentTxid\":\"AB01\",\"newOwnerAddress\":\"mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn\"}");
    const std::string u = reg::unlock_message("NFC:1", std::string(64, 'c'));
    assert_string_equal(u.c_str(), ("{\"purpose\":\"unlock_content\",\"uid_tag_id\":\"NFC:1\",\"currentTxid\":\"" +
                                    std::string(64, 'c') + "\"}")
                                       .c_str());
    const std::string p = reg::pos_claim_message("NFC:1", kOwner, 1700000000123, "n0nce-xyz");
    assert_string_equal(p.c_str(),
                        "PATCHPROOF_CLAIM|uid:NFC:1|addr:mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn|ts:1700000000123|nonce:n0nce-xyz");
    const std::string neg = reg::pos_claim_message("abc", "addr", -5, "nonce1");
    assert_string_equal(neg.c_str(), "PATCHPROOF_CLAIM|uid:abc|addr:addr|ts:-5|nonce:nonce1");
}

// ---------------------------------------------------------------- records

void record_bytes_and_hash(void **)
{
    JsonPtr product = parse(kProduct), metadata = parse(kMetadata);
    reg::IssuerSignature sig{"3044aa", "02bb"};
    auto rec = reg::registration_record(product.get(), metadata.get(), kOwner, sig, kTs);
    assert_true(rec.ok());
    auto enc = reg::encode_record(rec->get());
    assert_true(enc.ok());
    assert_string_equal(
        enc->on_chain.c_str(),
        R"({"type":"AUTHENTICATION_RECORD","product":{"uid_tag_id":"NFC:04:A1.b_c-9","name":"Jersey \"Home\"","sku":"SKU-1"},)"
        R"("metadata":{"patch_location":"left sleeve","notes":"Größe \"XL\" — über","image":"https://img.example/p/1.png"},)"
        R"("auth":{"owner":"mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn","issuer_signature":"3044aa","issuer_pubkey":"02bb","ts":1700000000123}})");
    // recordHash is over the sorted form, not over the on-chain bytes.
    assert_string_equal(enc->record_hash.c_str(), "717c819956e279767d95f335572cd6e93554a4f753fa5b70142e3197433ecbb6");
    assert_string_equal(crypto::hex_encode(crypto::sha256(crypto::as_bytes(enc->on_chain))).c_str(),
                        "6b9885f161374c1472f387600f804820b1b367acfd763d38719e7b490f15d205");
    // Re-parsing the on-chain bytes keeps the order, so metadata_sha256 is recomputable.
    JsonPtr back = parse(enc->on_chain.c_str());
    auto msha = reg::metadata_sha256(json_object_get(back.get(), "metadata"));
    assert_true(msha.ok());
    assert_string_equal(msha->c_str(), kMetadataSha);
    auto h = reg::record_hash(back.get());
    assert_true(h.ok());
    assert_string_equal(h->c_str(), enc->record_hash.c_str());
    // The record copies its inputs: changing them later changes nothing.
    json_object_set_new(metadata.get(), "notes", json_string("changed"));
    auto h2 = reg::record_hash(rec->get());
    assert_true(h2.ok());
    assert_string_equal(h2->c_str(), enc->record_hash.c_str());

    assert_int_equal(reg::registration_record(nullptr, metadata.get(), kOwner, sig, kTs).error(), Errc::invalid_argument);
    assert_int_equal(reg::registration_record(product.get(), nullptr, kOwner, sig, kTs).error(), Errc::invalid_argument);
    assert_int_equal(reg::encode_record(nullptr).error(), Errc::invalid_argument);
    assert_int_equal(reg::record_hash(nullptr).error(), Errc::invalid_argument);
}

void transfer_records(void **)
{
    crypto::Secret<32> issuer = seeded_key();
    JsonPtr reg0 = signed_registration(issuer);
    const std::string issuer_sig = str(json_object_get(reg0.get(), "auth"), "issuer_signature");

    reg::OwnerTransfer t{"mnewOwnerAddr", std::string(64, 'a'), "02cc", "3045dd", 1700000001000};
    auto r1 = reg::transfer_record(reg0.get(), t);
    assert_true(r1.ok());
    const json_t *a1 = json_object_get(r1->get(), "auth");
    assert_string_equal(str(a1, "owner").c_str(), "mnewOwnerAddr");
    assert_string_equal(str(a1, "previous_owner").c_str(), kOwner);
    assert_string_equal(str(a1, "prev_txid").c_str(), std::string(64, 'a').c_str());
    assert_string_equal(str(a1, "current_owner_pubkey").c_str(), "02cc");
    assert_string_equal(str(a1, "current_owner_signature").c_str(), "3045dd");
    assert_int_equal(json_integer_value(json_object_get(a1, "transferred_at")), 1700000001000);
    assert_string_equal(str(a1, "issuer_signature").c_str(), issuer_sig.c_str());
    assert_int_equal(json_integer_value(json_object_get(a1, "ts")), kTs);
    // The source record is untouched.
    assert_string_equal(str(json_object_get(reg0.get(), "auth"), "owner").c_str(), kOwner);
    // owner keeps its place; the new fields follow the registration's.
    auto enc = reg::encode_record(r1->get());
    assert_true(enc.ok());
    assert_non_null(strstr(enc->on_chain.c_str(),
                           "\"auth\":{\"owner\":\"mnewOwnerAddr\",\"issuer_signature\":"));
    assert_non_null(strstr(enc->on_chain.c_str(), ",\"previous_owner\":\"mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn\","
                                                  "\"prev_txid\":\""));

    // A POS transfer after it: no owner key/signature, POS fields instead.
    reg::PosTransfer p{"mthirdOwner", std::string(64, 'b'), "shop-7", std::string(32, 'e'), 1700000002000};
    auto r2 = reg::pos_transfer_record(r1->get(), p);
    assert_true(r2.ok());
    const json_t *a2 = json_object_get(r2->get(), "auth");
    assert_string_equal(str(a2, "owner").c_str(), "mthirdOwner");
    assert_string_equal(str(a2, "previous_owner").c_str(), "mnewOwnerAddr");
    assert_string_equal(str(a2, "prev_txid").c_str(), std::string(64, 'b').c_str());
    assert_string_equal(str(a2, "pos_approved_by").c_str(), "shop-7");
    assert_string_equal(str(a2, "claim_intent_id").c_str(), std::string(32, 'e').c_str());
    assert_null(json_object_get(a2, "current_owner_pubkey"));
    assert_null(json_object_get(a2, "current_owner_signature"));
    assert_int_equal(json_integer_value(json_object_get(a2, "transferred_at")), 1700000002000);

    // And an owner transfer after the POS one drops the POS fields again.
    auto r3 = reg::transfer_record(r2->get(), t);
    assert_true(r3.ok());
    const json_t *a3 = json_object_get(r3->get(), "auth");
    assert_null(json_object_get(a3, "pos_approved_by"));
    assert_null(json_object_get(a3, "claim_intent_id"));
    assert_string_equal(str(a3, "previous_owner").c_str(), "mthirdOwner");

    // The issuer signature keeps verifying through every transfer.
    assert_true(reg::verify_issuer_signature(r1->get()).ok());
    assert_true(reg::verify_issuer_signature(r2->get()).ok());
    assert_true(reg::verify_issuer_signature(r3->get()).ok());

    assert_int_equal(reg::transfer_record(nullptr, t).error(), Errc::bad_json);
    JsonPtr no_auth = parse(R"({"type":"AUTHENTICATION_RECORD"})");
    assert_int_equal(reg::transfer_record(no_auth.get(), t).error(), Errc::bad_json);
    JsonPtr bad_owner = parse(R"({"auth":{"owner":5}})");
    assert_int_equal(reg::pos_transfer_record(bad_owner.get(), p).error(), Errc::bad_json);
}

// ---------------------------------------------------------------- signatures

void issuer_signature_verification(void **)
{
    crypto::Secret<32> issuer = seeded_key();
    JsonPtr rec = signed_registration(issuer);
    assert_true(reg::verify_issuer_signature(rec.get()).ok());

    // Survives a round trip through the on-chain bytes.
    auto enc = reg::encode_record(rec.get());
    assert_true(enc.ok());
    JsonPtr back = parse(enc->on_chain.c_str());
    assert_true(reg::verify_issuer_signature(back.get()).ok());

    // Tampered metadata, uid or ts: compromised.
    JsonPtr t1(json_deep_copy(rec.get()));
    json_object_set_new(json_object_get(t1.get(), "metadata"), "notes", json_string("forged"));
    assert_int_equal(reg::verify_issuer_signature(t1.get()).error(), Errc::verify_failed);
    JsonPtr t2(json_deep_copy(rec.get()));
    json_object_set_new(json_object_get(t2.get(), "product"), "uid_tag_id", json_string("NFC:other"));
    assert_int_equal(reg::verify_issuer_signature(t2.get()).error(), Errc::verify_failed);
    JsonPtr t3(json_deep_copy(rec.get()));
    json_object_set_new(json_object_get(t3.get(), "auth"), "ts", json_integer(kTs + 1));
    assert_int_equal(reg::verify_issuer_signature(t3.get()).error(), Errc::verify_failed);
    // Metadata reordered: the as-received hash no longer matches.
    JsonPtr t4(json_deep_copy(rec.get()));
    json_object_set_new(t4.get(), "metadata",
                        parse(R"({"image":"https://img.example/p/1.png","notes":"Größe \"XL\" — über","patch_location":"left sleeve"})")
                            .release());
    assert_int_equal(reg::verify_issuer_signature(t4.get()).error(), Errc::verify_failed);
    // Another key claiming to be the issuer.
    JsonPtr t5(json_deep_copy(rec.get()));
    json_object_set_new(json_object_get(t5.get(), "auth"), "issuer_pubkey",
                        json_string("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"));
    assert_int_equal(reg::verify_issuer_signature(t5.get()).error(), Errc::verify_failed);
    // Missing pieces are bad_json, never a crash.
    assert_int_equal(reg::verify_issuer_signature(nullptr).error(), Errc::bad_json);
    JsonPtr t6(json_deep_copy(rec.get()));
    json_object_del(json_object_get(t6.get(), "auth"), "issuer_signature");
    assert_int_equal(reg::verify_issuer_signature(t6.get()).error(), Errc::bad_json);
    JsonPtr t7(json_deep_copy(rec.get()));
    json_object_set_new(json_object_get(t7.get(), "auth"), "ts", json_string("1"));
    assert_int_equal(reg::verify_issuer_signature(t7.get()).error(), Errc::bad_json);
    JsonPtr t8(json_deep_copy(rec.get()));
    json_object_set_new(json_object_get(t8.get(), "auth"), "issuer_signature", json_string("3006zz"));
    assert_int_equal(reg::verify_issuer_signature(t8.get()).error(), Errc::bad_hex);
}

void owner_signatures(void **)
{
    crypto::Secret<32> owner = seeded_key();
    const std::string pub = pubkey_hex(owner);
    const std::string msg = reg::transfer_message(kUid, std::string(64, 'a'), kOwner);
    const std::string sig = sign_hex(owner, msg);
    assert_true(reg::verify_message_signature(msg, pub, sig).ok());
    // Upper-case hex is accepted.
    std::string upper_sig = sig;
    for (char &ch : upper_sig) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    assert_true(reg::verify_message_signature(msg, pub, upper_sig).ok());
    assert_int_equal(reg::verify_message_signature(msg + " ", pub, sig).error(), Errc::verify_failed);
    assert_int_equal(reg::verify_message_signature(msg, pub.substr(0, 64), sig).error(), Errc::bad_key);
    assert_int_equal(reg::verify_message_signature(msg, "04" + pub.substr(2), sig).error(), Errc::bad_key);
    assert_int_equal(reg::verify_message_signature(msg, pub, sig.substr(1)).error(), Errc::bad_hex);
    assert_int_equal(reg::verify_message_signature(msg, pub, "").error(), Errc::bad_hex);
    assert_int_equal(reg::verify_message_signature(msg, pub, "3000").error(), Errc::bad_der);

    auto addr = reg::address_of_pubkey(pub, crypto::Network::test);
    assert_true(addr.ok());
    assert_true(crypto::parse_p2pkh_address(*addr, crypto::Network::test).ok());
    assert_false(crypto::parse_p2pkh_address(*addr, crypto::Network::main).ok());
    assert_int_equal(reg::address_of_pubkey("02" + std::string(64, 'f'), crypto::Network::test).error(), Errc::bad_key);
    assert_int_equal(reg::address_of_pubkey("xyz", crypto::Network::test).error(), Errc::bad_key);
    // Known answer: the generator's compressed key on main net.
    auto g = reg::address_of_pubkey("0279BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798",
                                    crypto::Network::main);
    assert_true(g.ok());
    assert_string_equal(g->c_str(), "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH");
}

// ---------------------------------------------------------------- content

void content_sealing(void **)
{
    uint8_t master[32];
    for (int i = 0; i < 32; ++i) master[i] = static_cast<uint8_t>(i);
    const std::string text = "secret — ünïcode";
    reg::SealedContent s = reg::seal_content(master, "NFC:1", text);
    assert_int_equal(s.nonce.size(), reg::kContentNonceBytes);
    assert_int_equal(s.ciphertext.size(), text.size() + 16);
    auto back = reg::open_content(master, "NFC:1", s.nonce, s.ciphertext);
    assert_true(back.ok());
    assert_string_equal(back->c_str(), text.c_str());
    // Bound to the uid (associated data and key) and to the master key.
    assert_int_equal(reg::open_content(master, "NFC:2", s.nonce, s.ciphertext).error(), Errc::verify_failed);
    uint8_t other[32] = {1};
    assert_int_equal(reg::open_content(other, "NFC:1", s.nonce, s.ciphertext).error(), Errc::verify_failed);
    s.ciphertext[0] ^= 1;
    assert_int_equal(reg::open_content(master, "NFC:1", s.nonce, s.ciphertext).error(), Errc::verify_failed);
    assert_int_equal(reg::open_content(master, "NFC:1", std::span<const uint8_t>(s.nonce.data(), 23), s.ciphertext).error(),
                     Errc::bad_length);
    assert_int_equal(reg::open_content(master, "NFC:1", s.nonce, std::span<const uint8_t>(s.ciphertext.data(), 15)).error(),
                     Errc::bad_length);
    // Two seals of one text differ (random nonce); empty content works.
    reg::SealedContent s2 = reg::seal_content(master, "NFC:1", text);
    assert_true(s2.nonce != s.nonce);
    reg::SealedContent e = reg::seal_content(master, "NFC:1", "");
    auto eb = reg::open_content(master, "NFC:1", e.nonce, e.ciphertext);
    assert_true(eb.ok());
    assert_true(eb->empty());
    // The per-patch key is HMAC-SHA256(master, "patch-content:" + uid).
    crypto::Secret<32> k;
    reg::content_key(k, master, "NFC:1");
    uint8_t want[32];
    const std::string label = "patch-content:NFC:1";
    crypto::hmac_sha256(want, master, crypto::as_bytes(label));
    assert_memory_equal(k.data(), want, 32);
}

}  // namespace

int main()
{
    const char *env = std::getenv("PP_TEST_SEED");
    g_seed = env ? std::strtoull(env, nullptr, 10) : static_cast<unsigned long long>(std::time(nullptr));
    std::printf("test_records: PP_TEST_SEED=%llu\n", g_seed);
    if (!crypto::secp_init()) {
        std::fprintf(stderr, "secp256k1 init failed\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uid_patterns),
        cmocka_unit_test(other_patterns),
        cmocka_unit_test(percent_decoding),
        cmocka_unit_test(issuer_message_literal),
        cmocka_unit_test(signed_message_literals),
        cmocka_unit_test(record_bytes_and_hash),
        cmocka_unit_test(transfer_records),
        cmocka_unit_test(issuer_signature_verification),
        cmocka_unit_test(owner_signatures),
        cmocka_unit_test(content_sealing),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

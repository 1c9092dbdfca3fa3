// SPDX-License-Identifier: MIT
#include "registry/records.h"

#include <sodium.h>

#include <cctype>

#include "crypto/canonical_json.h"
#include "crypto/encoding.h"
#include "crypto/secp256k1.h"

namespace pp::registry {
namespace {

bool is_hex_digit(char c) noexcept
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool all_hex(std::string_view s) noexcept
{
    for (char c : s)
        if (!is_hex_digit(c))
            return false;
    return true;
}

int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept
{
    if (s.size() < prefix.size())
        return false;
    for (size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i])
            return false;
    return true;
}

std::string hex_sha256(std::string_view bytes)
{
    return crypto::hex_encode(crypto::sha256(crypto::as_bytes(bytes)));
}

// Sets a string member, keeping its position when the key already exists.
void set_string(json_t *obj, const char *key, std::string_view value)
{
    json_object_set_new(obj, key, json_stringn(value.data(), value.size()));
}

// Deep copy of `current` and its auth object, with the fields every transfer
// writes; the caller adds the kind-specific ones.
Result<JsonPtr> transfer_base(const json_t *current, std::string_view new_owner, std::string_view prev_txid)
{
    if (!json_is_object(current))
        return Errc::bad_json;
    const json_t *auth_in = json_object_get(current, "auth");
    const json_t *owner_in = json_object_get(auth_in, "owner");
    if (!json_is_object(auth_in) || !json_is_string(owner_in))
        return Errc::bad_json;
    JsonPtr rec(json_deep_copy(current));
    if (!rec)
        return Errc::internal;
    json_t *auth = json_object_get(rec.get(), "auth");
    const std::string previous(json_string_value(owner_in), json_string_length(owner_in));
    set_string(auth, "owner", new_owner);
    set_string(auth, "previous_owner", previous);
    set_string(auth, "prev_txid", prev_txid);
    return rec;
}

}  // namespace

bool valid_uid(std::string_view uid) noexcept
{
    if (uid.size() < kUidMinChars || uid.size() > kUidMaxChars)
        return false;
    for (char c : uid)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != ':' && c != '-')
            return false;
    return true;
}

bool reserved_uid(std::string_view uid) noexcept
{
    if (uid == "verify" || uid == "pending" || uid == "proof")
        return true;
    constexpr std::string_view pdf = ".pdf";
    if (uid.size() < pdf.size())
        return false;
    for (size_t i = 0; i < pdf.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(uid[uid.size() - pdf.size() + i])) != pdf[i])
            return false;
    return true;
}

bool valid_txid(std::string_view txid) noexcept { return txid.size() == 64 && all_hex(txid); }

bool valid_id32(std::string_view id) noexcept { return id.size() == 32 && all_hex(id); }

bool valid_signature_hex(std::string_view hex) noexcept
{
    return !hex.empty() && hex.size() % 2 == 0 && hex.size() <= kMaxSignatureHexChars && all_hex(hex);
}

bool valid_http_url(std::string_view url) noexcept
{
    if (url.size() > kImageUrlMaxBytes)
        return false;
    size_t rest;
    if (istarts_with(url, "https://"))
        rest = 8;
    else if (istarts_with(url, "http://"))
        rest = 7;
    else
        return false;
    for (char c : url) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f)
            return false;
    }
    const size_t host_end = url.find_first_of("/?#", rest);
    const std::string_view authority = url.substr(rest, host_end == std::string_view::npos ? url.npos : host_end - rest);
    // Userinfo is dropped from the check: the host is what follows the last '@'.
    const size_t at = authority.rfind('@');
    const std::string_view host = at == std::string_view::npos ? authority : authority.substr(at + 1);
    return !host.empty() && host.front() != ':';
}

bool valid_nonce(std::string_view nonce) noexcept
{
    if (nonce.size() < kNonceMinChars || nonce.size() > kNonceMaxChars)
        return false;
    for (char c : nonce) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x21 || u > 0x7e)
            return false;
    }
    return true;
}


Result<std::string> percent_decode_segment(std::string_view segment)
{
    std::string out;
    out.reserve(segment.size());
    for (size_t i = 0; i < segment.size(); ++i) {
        if (segment[i] != '%') {
            out += segment[i];
            continue;
        }
        if (i + 2 >= segment.size() || !is_hex_digit(segment[i + 1]) || !is_hex_digit(segment[i + 2]))
            return Errc::bad_hex;
        const char c = static_cast<char>(hex_value(segment[i + 1]) * 16 + hex_value(segment[i + 2]));
        if (c == '\0' || c == '/')
            return Errc::invalid_argument;
        out += c;
        i += 2;
    }
    return out;
}

Result<std::string> metadata_sha256(const json_t *metadata)
{
    if (!json_is_object(metadata))
        return Errc::invalid_argument;
    auto text = crypto::canonical_json(metadata, crypto::KeyOrder::insertion);
    if (!text)
        return text.error();
    return hex_sha256(*text);
}

std::string issuer_message(std::string_view uid, std::string_view metadata_sha256_hex, int64_t ts_ms)
{
    // Written out in sorted key order: metadata_sha256 < purpose < ts < uid_tag_id.
    std::string out = "{\"metadata_sha256\":";
    crypto::append_json_string(out, metadata_sha256_hex);
    out += ",\"purpose\":\"register_patch\",\"ts\":";
    out += std::to_string(ts_ms);
    out += ",\"uid_tag_id\":";
    crypto::append_json_string(out, uid);
    out += '}';
    return out;
}

std::string transfer_message(std::string_view uid, std::string_view current_txid, std::string_view new_owner)
{
    std::string out = "{\"purpose\":\"transfer_ownership\",\"uid_tag_id\":";
    crypto::append_json_string(out, uid);
    out += ",\"currentTxid\":";
    crypto::append_json_string(out, current_txid);
    out += ",\"newOwnerAddress\":";
    crypto::append_json_string(out, new_owner);
    out += '}';
    return out;
}

std::string unlock_message(std::string_view uid, std::string_view current_txid)
{
    std::string out = "{\"purpose\":\"unlock_content\",\"uid_tag_id\":";
    crypto::append_json_string(out, uid);
    out += ",\"currentTxid\":";
    crypto::append_json_string(out, current_txid);
    out += '}';
    return out;
}

std::string pos_claim_message(std::string_view uid, std::string_view address, int64_t ts_ms, std::string_view nonce)
{
    std::string out = "PATCHPROOF_CLAIM|uid:";
    out += uid;
    out += "|addr:";
    out += address;
    out += "|ts:";
    out += std::to_string(ts_ms);
    out += "|nonce:";
    out += nonce;
    return out;
}

Result<JsonPtr> registration_record(const json_t *product, const json_t *metadata, std::string_view owner,
                                    const IssuerSignature &issuer, int64_t ts_ms)
{
    if (!json_is_object(product) || !json_is_object(metadata))
        return Errc::invalid_argument;
    JsonPtr rec(json_object());
    JsonPtr auth(json_object());
    if (!rec || !auth)
        return Errc::internal;
    json_object_set_new(rec.get(), "type", json_string("AUTHENTICATION_RECORD"));
    json_object_set_new(rec.get(), "product", json_deep_copy(product));
    json_object_set_new(rec.get(), "metadata", json_deep_copy(metadata));
    set_string(auth.get(), "owner", owner);
    set_string(auth.get(), "issuer_signature", issuer.signature_hex);
    set_string(auth.get(), "issuer_pubkey", issuer.pubkey_hex);
    json_object_set_new(auth.get(), "ts", json_integer(ts_ms));
    json_object_set_new(rec.get(), "auth", auth.release());
    if (json_object_size(rec.get()) != 4)
        return Errc::internal;  // a deep copy failed
    return rec;
}

Result<JsonPtr> transfer_record(const json_t *current, const OwnerTransfer &t)
{
    auto rec = transfer_base(current, t.new_owner, t.prev_txid);
    if (!rec)
        return rec.error();
    json_t *auth = json_object_get(rec->get(), "auth");
    json_object_del(auth, "pos_approved_by");
    json_object_del(auth, "claim_intent_id");
    set_string(auth, "current_owner_pubkey", t.current_owner_pubkey_hex);
    set_string(auth, "current_owner_signature", t.current_owner_signature_hex);
    json_object_set_new(auth, "transferred_at", json_integer(t.transferred_at_ms));
    return rec;
}

Result<JsonPtr> pos_transfer_record(const json_t *current, const PosTransfer &t)
{
    auto rec = transfer_base(current, t.new_owner, t.prev_txid);
    if (!rec)
        return rec.error();
    json_t *auth = json_object_get(rec->get(), "auth");
    json_object_del(auth, "current_owner_pubkey");
    json_object_del(auth, "current_owner_signature");
    set_string(auth, "pos_approved_by", t.approved_by);
    set_string(auth, "claim_intent_id", t.claim_intent_id);
    json_object_set_new(auth, "transferred_at", json_integer(t.transferred_at_ms));
    return rec;
}

Result<EncodedRecord> encode_record(const json_t *record)
{
    if (!json_is_object(record))
        return Errc::invalid_argument;
    auto on_chain = crypto::canonical_json(record, crypto::KeyOrder::insertion);
    if (!on_chain)
        return on_chain.error();
    auto hash = record_hash(record);
    if (!hash)
        return hash.error();
    return EncodedRecord{std::move(*on_chain), std::move(*hash)};
}

Result<std::string> record_hash(const json_t *record)
{
    if (!json_is_object(record))
        return Errc::invalid_argument;
    auto sorted = crypto::canonical_json(record, crypto::KeyOrder::sorted);
    if (!sorted)
        return sorted.error();
    return hex_sha256(*sorted);
}

Result<void> verify_message_signature(std::string_view message, std::string_view pubkey_hex,
                                      std::string_view signature_hex)
{
    crypto::PubKey33 raw{};
    if (pubkey_hex.size() != 66 || !crypto::hex_decode_into(raw, pubkey_hex))
        return Errc::bad_key;
    auto pk = crypto::parse_pubkey(raw);
    if (!pk)
        return pk.error();
    if (!valid_signature_hex(signature_hex))
        return Errc::bad_hex;
    auto der = crypto::hex_decode(signature_hex);
    if (!der)
        return der.error();
    const crypto::Hash256 digest = crypto::sha256(crypto::as_bytes(message));
    return crypto::ecdsa_verify_der(*der, digest, *pk);
}

Result<std::string> address_of_pubkey(std::string_view pubkey_hex, crypto::Network net)
{
    crypto::PubKey33 raw{};
    if (pubkey_hex.size() != 66 || !crypto::hex_decode_into(raw, pubkey_hex))
        return Errc::bad_key;
    if (!crypto::parse_pubkey(raw))
        return Errc::bad_key;
    return crypto::p2pkh_address(std::span<const uint8_t, 33>(raw), net);
}

Result<void> verify_issuer_signature(const json_t *record)
{
    const json_t *product = json_object_get(record, "product");
    const json_t *metadata = json_object_get(record, "metadata");
    const json_t *auth = json_object_get(record, "auth");
    const json_t *uid = json_object_get(product, "uid_tag_id");
    const json_t *ts = json_object_get(auth, "ts");
    const json_t *sig = json_object_get(auth, "issuer_signature");
    const json_t *pub = json_object_get(auth, "issuer_pubkey");
    if (!json_is_object(record) || !json_is_object(metadata) || !json_is_string(uid) || !json_is_integer(ts) ||
        !json_is_string(sig) || !json_is_string(pub))
        return Errc::bad_json;
    auto msha = metadata_sha256(metadata);
    if (!msha)
        return msha.error();
    const std::string c = issuer_message(std::string_view(json_string_value(uid), json_string_length(uid)), *msha,
                                         json_integer_value(ts));
    return verify_message_signature(c, std::string_view(json_string_value(pub), json_string_length(pub)),
                                    std::string_view(json_string_value(sig), json_string_length(sig)));
}

void content_key(crypto::Secret<32> &out, std::span<const uint8_t, 32> master, std::string_view uid) noexcept
{
    std::string label = "patch-content:";
    label += uid;
    crypto::hmac_sha256(out.span(), master, crypto::as_bytes(label));
}

SealedContent seal_content(std::span<const uint8_t, 32> master, std::string_view uid, std::string_view plaintext)
{
    crypto::Secret<32> key;
    content_key(key, master, uid);
    SealedContent out;
    out.nonce.resize(kContentNonceBytes);
    randombytes_buf(out.nonce.data(), out.nonce.size());
    out.ciphertext.resize(plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        out.ciphertext.data(), &clen, reinterpret_cast<const unsigned char *>(plaintext.data()), plaintext.size(),
        reinterpret_cast<const unsigned char *>(uid.data()), uid.size(), nullptr, out.nonce.data(), key.data());
    out.ciphertext.resize(static_cast<size_t>(clen));
    return out;
}

Result<std::string> open_content(std::span<const uint8_t, 32> master, std::string_view uid,
                                 std::span<const uint8_t> nonce, std::span<const uint8_t> ciphertext)
{
    if (nonce.size() != kContentNonceBytes || ciphertext.size() < crypto_aead_xchacha20poly1305_ietf_ABYTES)
        return Errc::bad_length;
    crypto::Secret<32> key;
    content_key(key, master, uid);
    std::string plain(ciphertext.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
    unsigned long long plen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char *>(plain.data()), &plen, nullptr,
                                                   ciphertext.data(), ciphertext.size(),
                                                   reinterpret_cast<const unsigned char *>(uid.data()), uid.size(),
                                                   nonce.data(), key.data()) != 0) {
        sodium_memzero(plain.data(), plain.size());
        return Errc::verify_failed;
    }
    plain.resize(static_cast<size_t>(plen));
    return plain;
}

}  // namespace pp::registry

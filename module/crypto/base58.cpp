// SPDX-License-Identifier: MIT
#include "crypto/base58.h"

#include <algorithm>
#include <array>
#include <vector>

#include <sodium.h>

namespace pp::crypto {
namespace {

constexpr std::string_view kAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr size_t kChecksumLen = 4;

// Reverse table over all 256 byte values so non-ASCII input maps to -1 too.
constexpr std::array<int8_t, 256> make_digit_table()
{
    std::array<int8_t, 256> t{};
    t.fill(-1);
    for (size_t i = 0; i < kAlphabet.size(); ++i)
        t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
    return t;
}
constexpr std::array<int8_t, 256> kDigit = make_digit_table();

template <typename V>
void wipe(V &v) noexcept
{
    if (!v.empty())
        sodium_memzero(v.data(), v.size() * sizeof(v[0]));
}

}  // namespace

Result<Network> parse_network(std::string_view name)
{
    if (name == "main" || name == "mainnet")
        return Network::main;
    if (name == "test" || name == "testnet")
        return Network::test;
    return Errc::invalid_argument;
}

std::string base58_encode(std::span<const uint8_t> data)
{
    size_t zeros = 0;
    while (zeros < data.size() && data[zeros] == 0)
        ++zeros;

    // Base-58 digits of the remaining big-endian number, least significant
    // first so the vector only ever grows at the back. 138/100 > log(256)/log(58).
    std::vector<uint8_t> digits;
    digits.reserve((data.size() - zeros) * 138 / 100 + 1);
    for (size_t i = zeros; i < data.size(); ++i) {
        uint32_t carry = data[i];
        for (uint8_t &d : digits) {
            carry += static_cast<uint32_t>(d) << 8;
            d = static_cast<uint8_t>(carry % 58);
            carry /= 58;
        }
        while (carry != 0) {
            digits.push_back(static_cast<uint8_t>(carry % 58));
            carry /= 58;
        }
    }

    std::string out;
    out.reserve(zeros + digits.size());
    out.append(zeros, kAlphabet[0]);
    for (auto it = digits.rbegin(); it != digits.rend(); ++it)
        out.push_back(kAlphabet[*it]);
    wipe(digits);
    return out;
}

Result<Bytes> base58_decode(std::string_view text)
{
    if (text.size() > kMaxBase58Chars)
        return Errc::bad_length;
    // Validate the whole alphabet first so a bad character is reported as
    // such, whatever its position.
    for (char c : text)
        if (kDigit[static_cast<uint8_t>(c)] < 0)
            return Errc::bad_base58;

    size_t ones = 0;
    while (ones < text.size() && text[ones] == kAlphabet[0])
        ++ones;

    // Base-256 bytes, least significant first. 733/1000 > log(58)/log(256).
    std::vector<uint8_t> bytes;
    bytes.reserve((text.size() - ones) * 733 / 1000 + 1);
    for (size_t i = ones; i < text.size(); ++i) {
        uint32_t carry = static_cast<uint32_t>(kDigit[static_cast<uint8_t>(text[i])]);
        for (uint8_t &b : bytes) {
            carry += static_cast<uint32_t>(b) * 58;
            b = static_cast<uint8_t>(carry & 0xff);
            carry >>= 8;
        }
        while (carry != 0) {
            bytes.push_back(static_cast<uint8_t>(carry & 0xff));
            carry >>= 8;
        }
    }

    Bytes out;
    out.reserve(ones + bytes.size());
    out.assign(ones, 0x00);
    out.insert(out.end(), bytes.rbegin(), bytes.rend());
    wipe(bytes);
    return out;
}

std::string base58check_encode(std::span<const uint8_t> versioned_payload)
{
    Bytes buf;
    buf.reserve(versioned_payload.size() + kChecksumLen);
    buf.assign(versioned_payload.begin(), versioned_payload.end());
    const Hash256 check = sha256d(versioned_payload);
    buf.insert(buf.end(), check.begin(), check.begin() + kChecksumLen);
    std::string out = base58_encode(buf);
    wipe(buf);
    return out;
}

Result<Bytes> base58check_decode(std::string_view text)
{
    auto raw = base58_decode(text);
    if (!raw)
        return raw.error();
    Bytes &b = raw.value();
    // At least a version byte plus the checksum.
    if (b.size() < 1 + kChecksumLen) {
        wipe(b);
        return Errc::bad_length;
    }
    const size_t body = b.size() - kChecksumLen;
    const Hash256 check = sha256d(std::span<const uint8_t>(b.data(), body));
    // The checksum is public (it is in the string), so a plain compare is fine.
    if (!std::equal(check.begin(), check.begin() + kChecksumLen, b.begin() + static_cast<std::ptrdiff_t>(body))) {
        wipe(b);
        return Errc::bad_checksum;
    }
    b.resize(body);
    return std::move(raw).value();
}

Hash160 pubkey_hash(std::span<const uint8_t, 33> compressed_pubkey)
{
    return hash160(compressed_pubkey);
}

std::string p2pkh_address(const Hash160 &h, Network net)
{
    std::array<uint8_t, 1 + 20> buf{};
    buf[0] = p2pkh_version(net);
    std::copy(h.begin(), h.end(), buf.begin() + 1);
    return base58check_encode(buf);
}

std::string p2pkh_address(std::span<const uint8_t, 33> compressed_pubkey, Network net)
{
    return p2pkh_address(pubkey_hash(compressed_pubkey), net);
}

Result<Hash160> parse_p2pkh_address(std::string_view address, Network net)
{
    // A P2PKH address is 25 bytes, at most 34 characters; anything far longer
    // is rejected before decoding. The exact length is checked on the bytes.
    if (address.size() > 64)
        return Errc::bad_length;
    auto dec = base58check_decode(address);
    if (!dec)
        return dec.error();
    Bytes &b = dec.value();
    // Wipe on every path: a WIF key pasted into an address field decodes here.
    Errc err = Errc::ok;
    if (b.size() != 1 + 20)
        err = Errc::bad_length;
    else if (b[0] != p2pkh_version(net))
        err = Errc::bad_version;
    Hash160 h{};
    if (err == Errc::ok)
        std::copy(b.begin() + 1, b.end(), h.begin());
    wipe(b);
    if (err != Errc::ok)
        return err;
    return h;
}

}  // namespace pp::crypto

// SPDX-License-Identifier: MIT
#include "crypto/encoding.h"

namespace pp::crypto {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int b64url_value(char c) noexcept
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

}  // namespace

std::string hex_encode(std::span<const uint8_t> data)
{
    std::string out;
    out.resize(data.size() * 2);
    for (size_t i = 0; i < data.size(); ++i) {
        out[2 * i] = kHexDigits[data[i] >> 4];
        out[2 * i + 1] = kHexDigits[data[i] & 0x0f];
    }
    return out;
}

bool is_hex(std::string_view s) noexcept
{
    if (s.size() % 2 != 0) return false;
    for (char c : s)
        if (hex_value(c) < 0) return false;
    return true;
}

Result<void> hex_decode_into(std::span<uint8_t> out, std::string_view hex)
{
    if (hex.size() != out.size() * 2) return Errc::bad_length;
    for (size_t i = 0; i < out.size(); ++i) {
        int hi = hex_value(hex[2 * i]);
        int lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return Errc::bad_hex;
        out[i] = static_cast<uint8_t>((hi << 4) | lo);
    }
    return {};
}

Result<Bytes> hex_decode(std::string_view hex)
{
    if (hex.size() % 2 != 0) return Errc::bad_hex;
    Bytes out(hex.size() / 2);
    if (auto r = hex_decode_into(out, hex); !r) return r.error();
    return out;
}

std::string base64url_encode(std::span<const uint8_t> data)
{
    std::string out;
    out.reserve((data.size() * 4 + 2) / 3);
    size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
        out += kB64Url[(v >> 18) & 63];
        out += kB64Url[(v >> 12) & 63];
        out += kB64Url[(v >> 6) & 63];
        out += kB64Url[v & 63];
    }
    size_t rest = data.size() - i;
    if (rest == 1) {
        uint32_t v = uint32_t{data[i]} << 16;
        out += kB64Url[(v >> 18) & 63];
        out += kB64Url[(v >> 12) & 63];
    } else if (rest == 2) {
        uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
        out += kB64Url[(v >> 18) & 63];
        out += kB64Url[(v >> 12) & 63];
        out += kB64Url[(v >> 6) & 63];
    }
    return out;
}

Result<Bytes> base64url_decode(std::string_view text)
{
    // A length of 1 mod 4 can never come from whole bytes.
    if (text.size() % 4 == 1) return Errc::bad_base64;
    Bytes out;
    out.reserve(text.size() * 3 / 4);
    uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        int v = b64url_value(c);
        if (v < 0) return Errc::bad_base64;
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<uint8_t>(acc >> bits));
            acc &= (1u << bits) - 1;
        }
    }
    // Leftover bits must be zero so every byte string has exactly one encoding.
    if (acc != 0) return Errc::bad_base64;
    return out;
}

}  // namespace pp::crypto

// SPDX-License-Identifier: MIT
// Hex and base64url (RFC 4648 §5, no padding) codecs. Pure functions; no
// allocation beyond the returned value. Decoders are strict: hex accepts
// either case but only an even number of hex digits; base64url rejects
// padding, whitespace, characters outside the URL alphabet and
// non-canonical trailing bits.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pp::crypto {

std::string hex_encode(std::span<const uint8_t> data);  // lowercase
Result<Bytes> hex_decode(std::string_view hex);
// Decode into a fixed-size buffer; bad_length unless hex is exactly 2*out.size() digits.
Result<void> hex_decode_into(std::span<uint8_t> out, std::string_view hex);
bool is_hex(std::string_view s) noexcept;

std::string base64url_encode(std::span<const uint8_t> data);
Result<Bytes> base64url_decode(std::string_view text);

inline std::span<const uint8_t> as_bytes(std::string_view s) noexcept
{
    return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

}  // namespace pp::crypto

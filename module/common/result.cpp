// SPDX-License-Identifier: MIT
#include "common/result.h"

namespace pp {

std::string_view errc_name(Errc e) noexcept
{
    switch (e) {
    case Errc::ok: return "ok";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::bad_hex: return "bad_hex";
    case Errc::bad_base64: return "bad_base64";
    case Errc::bad_base58: return "bad_base58";
    case Errc::bad_checksum: return "bad_checksum";
    case Errc::bad_version: return "bad_version";
    case Errc::bad_length: return "bad_length";
    case Errc::bad_key: return "bad_key";
    case Errc::bad_der: return "bad_der";
    case Errc::high_s: return "high_s";
    case Errc::verify_failed: return "verify_failed";
    case Errc::bad_json: return "bad_json";
    case Errc::token_invalid: return "token_invalid";
    case Errc::token_expired: return "token_expired";
    case Errc::parse_error: return "parse_error";
    case Errc::out_of_range: return "out_of_range";
    case Errc::not_found: return "not_found";
    case Errc::conflict: return "conflict";
    case Errc::deadlock: return "deadlock";
    case Errc::unavailable: return "unavailable";
    case Errc::timeout: return "timeout";
    case Errc::internal: return "internal";
    }
    return "unknown";
}

}  // namespace pp

// SPDX-License-Identifier: MIT
// Hex decoding (crypto/encoding.h): never crashes; accepts exactly even-length
// text of hex digits; decoding then encoding gives the lower-cased input.
#include <cctype>

#include "crypto/encoding.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace pp::crypto;
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    auto bytes = hex_decode(text);
    FUZZ_CHECK(bytes.ok() == is_hex(text), "hex_decode and is_hex disagree");
    if (bytes) {
        std::string lower(text);
        for (char &c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        FUZZ_CHECK(bytes->size() * 2 == text.size(), "wrong decoded length");
        FUZZ_CHECK(hex_encode(*bytes) == lower, "decode/encode round trip");
    }
    uint8_t fixed[32];
    auto into = hex_decode_into(fixed, text);
    FUZZ_CHECK(into.ok() == (bytes.ok() && bytes->size() == sizeof fixed), "hex_decode_into disagrees");
    if (into)
        FUZZ_CHECK(std::memcmp(fixed, bytes->data(), sizeof fixed) == 0, "hex_decode_into bytes differ");
    return 0;
}

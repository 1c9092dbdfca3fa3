// SPDX-License-Identifier: MIT
// base64url decoding (crypto/encoding.h): strict, so whatever it accepts
// re-encodes to exactly the same text; encoding any bytes decodes back.
#include "crypto/encoding.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace pp::crypto;
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    if (auto bytes = base64url_decode(text))
        FUZZ_CHECK(base64url_encode(*bytes) == text, "accepted a non-canonical encoding");
    const std::string enc = base64url_encode(std::span<const uint8_t>(data, size));
    auto back = base64url_decode(enc);
    FUZZ_CHECK(back && back->size() == size && (size == 0 || std::memcmp(back->data(), data, size) == 0),
               "encode/decode round trip");
    return 0;
}

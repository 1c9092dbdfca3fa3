// SPDX-License-Identifier: MIT
// Canonical JSON (crypto/canonical_json.h) of any JSON text jansson accepts.
// Whatever it serialises parses back to an equal value, and serialising that
// again gives the same bytes: the signed hash of a record is stable. Byte 0
// picks parser flags (NUL in strings, any top-level value).
#include "common/json.h"
#include "crypto/canonical_json.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace pp;
    if (size == 0)
        return 0;
    size_t flags = JSON_REJECT_DUPLICATES;
    if (data[0] & 1)
        flags |= JSON_ALLOW_NUL;
    if (data[0] & 2)
        flags |= JSON_DECODE_ANY;
    json_error_t err;
    JsonPtr v(json_loadb(reinterpret_cast<const char *>(data + 1), size - 1, flags, &err));
    if (!v)
        return 0;
    for (auto order : {crypto::KeyOrder::sorted, crypto::KeyOrder::insertion}) {
        auto text = crypto::canonical_json(v.get(), order);
        if (!text)
            continue;
        JsonPtr back(json_loadb(text->data(), text->size(), JSON_DECODE_ANY | JSON_ALLOW_NUL, &err));
        FUZZ_CHECK(back != nullptr, "canonical output does not parse");
        FUZZ_CHECK(json_equal(back.get(), v.get()), "canonical output parses to another value");
        auto again = crypto::canonical_json(back.get(), order);
        FUZZ_CHECK(again && *again == *text, "canonical form not stable");
    }
    return 0;
}

// SPDX-License-Identifier: MIT
// Base58, Base58Check and P2PKH addresses (crypto/base58.h): decoders are
// strict, so accepted text re-encodes to itself; an address parsed for a
// network is rebuilt identically from its hash.
#include "crypto/base58.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace pp::crypto;
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    if (auto raw = base58_decode(text))
        FUZZ_CHECK(base58_encode(*raw) == text, "base58 round trip");
    if (auto payload = base58check_decode(text)) {
        FUZZ_CHECK(base58check_encode(*payload) == text, "base58check round trip");
        FUZZ_CHECK(base58_decode(text).ok(), "base58check accepted what base58 refused");
    }
    for (Network net : {Network::main, Network::test}) {
        if (auto h = parse_p2pkh_address(text, net)) {
            FUZZ_CHECK(p2pkh_address(*h, net) == text, "address round trip");
            FUZZ_CHECK(!parse_p2pkh_address(text, net == Network::main ? Network::test : Network::main),
                       "one address valid on both networks");
        }
    }
    (void)parse_network(text);
    return 0;
}

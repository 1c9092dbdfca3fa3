// SPDX-License-Identifier: MIT
// Transaction parsing (crypto/tx.h). The wire form is canonical (minimal
// varints, no trailing bytes), so an accepted buffer re-serialises to itself;
// signature hashes of every input of a parsed transaction never crash.
#include "crypto/tx.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace pp::crypto;
    const std::span<const uint8_t> raw(data, size);
    size_t pos = 0;
    if (auto v = read_varint(raw, pos)) {
        pp::Bytes again;
        write_varint(again, *v);
        FUZZ_CHECK(again.size() == pos && std::memcmp(again.data(), data, pos) == 0, "non-canonical varint accepted");
    }
    auto tx = parse_tx(raw);
    if (!tx)
        return 0;
    const pp::Bytes back = serialize(*tx);
    FUZZ_CHECK(back.size() == size && std::memcmp(back.data(), data, size) == 0, "parse/serialize round trip");
    FUZZ_CHECK(txid_from_hex(txid_hex(*tx)).ok(), "txid hex round trip");
    for (const TxOut &o : tx->outputs) {
        FUZZ_CHECK(o.satoshis <= MAX_MONEY, "amount above MAX_MONEY accepted");
        (void)p2pkh_script_hash(o.script);
    }
    const size_t n = std::min<size_t>(tx->inputs.size(), 4);
    for (size_t i = 0; i < n; ++i) {
        const pp::Bytes &script = tx->inputs[i].script_sig;
        (void)sighash_forkid(*tx, i, script, 1000, SIGHASH_ALL | SIGHASH_FORKID);
        // The legacy digest strips OP_CODESEPARATORs from the script code:
        // another parser of the same bytes. locktime picks the hash type.
        (void)sighash_legacy(*tx, i, script, tx->locktime);
    }
    FUZZ_CHECK(!sighash_forkid(*tx, tx->inputs.size(), {}, 0, SIGHASH_ALL | SIGHASH_FORKID),
               "sighash for an input past the end");
    return 0;
}

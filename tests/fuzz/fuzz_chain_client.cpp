// SPDX-License-Identifier: MIT
// Chain API responses (module/chain/client.cpp): the real client against a
// loopback server answering with the fuzz input. Line 1 names the call
// ("broadcast", "unspent", "info", "tx"); the rest is the scripted answer
// (fake_http.h); "$TXID" becomes the txid of the transaction asked about.
// PROPERTIES: a broadcast succeeds only with our own txid; whatever the
// client returns is well-formed (64-hex txids, amounts within MAX_MONEY,
// non-negative heights and confirmations).
#include "chain/client.h"
#include "crypto/encoding.h"
#include "crypto/tx.h"
#include "fake_http.h"
#include "fuzz_common.h"

namespace {

using namespace pp;

constexpr const char *kAddress = "mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ";  // testnet P2PKH (bitcoin key_io_valid.json)

struct Harness {
    fuzz::FakeHttp server;
    std::optional<chain::Client> client;
    std::string tx_hex, txid;

    Harness()
    {
        fuzz::quiet_logs();
        crypto::Tx tx;
        crypto::TxIn in;
        in.prevout.txid.fill(0x42);
        in.script_sig = {0x51};
        tx.inputs.push_back(in);
        crypto::Hash160 h{};
        h.fill(0x24);
        tx.outputs.push_back({1000, crypto::p2pkh_script(h)});
        tx_hex = crypto::hex_encode(crypto::serialize(tx));
        txid = crypto::txid_hex(tx);
        chain::ChainOptions o;
        o.network = "test";
        client.emplace(fuzz::client_of<chain::Client>(server, std::move(o)));
    }
};

Harness &harness()
{
    static Harness *h = new Harness();
    return *h;
}

bool lower_txid(const std::string &s)
{
    if (s.size() != 64)
        return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Harness &h = harness();
    const std::string_view in(reinterpret_cast<const char *>(data), size);
    const size_t nl = in.find('\n');
    const std::string_view op = in.substr(0, nl);
    std::string script(nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1));
    fuzz::replace_all(script, "$TXID", h.txid);
    h.server.script(fuzz::parse_script(script));

    if (op == "broadcast") {
        std::string reason;
        auto r = h.client->broadcast(h.tx_hex, &reason);
        if (r)
            FUZZ_CHECK(*r == h.txid, "broadcast succeeded with another txid");
        for (char c : reason)
            FUZZ_CHECK(c >= 0x20 && c < 0x7f, "reject reason not printable ASCII");
    } else if (op == "unspent") {
        if (auto r = h.client->unspent(kAddress)) {
            for (const chain::Unspent &u : *r) {
                FUZZ_CHECK(lower_txid(u.txid), "unspent txid malformed");
                FUZZ_CHECK(u.satoshis <= crypto::MAX_MONEY, "unspent amount above MAX_MONEY");
                FUZZ_CHECK(u.height >= 0 && u.confirmations >= 0, "negative height or confirmations");
            }
        }
    } else if (op == "info") {
        if (auto r = h.client->info())
            FUZZ_CHECK(r->blocks >= 0 && lower_txid(r->best_block_hash), "chain info malformed");
    } else {
        if (auto r = h.client->tx(h.txid)) {
            FUZZ_CHECK(r->txid == h.txid, "tx answer for another txid");
            FUZZ_CHECK(r->hex.empty() || crypto::is_hex(r->hex), "tx hex malformed");
            FUZZ_CHECK(r->confirmations >= 0 && r->block_height >= 0, "negative height or confirmations");
        }
    }
    return 0;
}

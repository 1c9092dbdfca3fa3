// SPDX-License-Identifier: MIT
// The chain client's response handling (chain/client.h), pure: how a
// broadcast answer is classified (an "already known" 4xx is never success by
// itself: it must be confirmed with GET tx/hash), and the parsers of the
// tx/hash, unspent and chain/info answers.
#include <string>
#include <vector>

#include "chain/client.h"
#include "vectors.h"

using namespace pp;
using namespace pp::chain;

namespace {

const std::string kTxid = "9f2c" + std::string(60, 'a');
const std::string kOther = std::string(64, 'b');

void broadcast_2xx(void **)
{
    assert_int_equal(static_cast<int>(classify_broadcast(200, kTxid, kTxid).kind),
                     static_cast<int>(BroadcastClass::accepted));
    // JSON string and upper case are the same txid.
    std::string upper = kTxid;
    for (char &c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    assert_int_equal(static_cast<int>(classify_broadcast(200, "\"" + upper + "\"\n", kTxid).kind),
                     static_cast<int>(BroadcastClass::accepted));
    // Another txid, no txid, or garbage: never accepted.
    for (const std::string &body : {kOther, std::string(), std::string("ok"), kTxid.substr(0, 63)})
        assert_int_equal(static_cast<int>(classify_broadcast(200, body, kTxid).kind),
                         static_cast<int>(BroadcastClass::malformed));
}

void broadcast_already_known_needs_confirmation(void **)
{
    for (const char *body : {"txn-already-known", "{\"error\":\"Transaction already known\"}",
                             "\"257: txn-already-known\"", "Already in the mempool"}) {
        BroadcastAnswer a = classify_broadcast(400, body, kTxid);
        // Not accepted: the client must ask GET tx/hash before calling it sent.
        assert_int_equal(static_cast<int>(a.kind), static_cast<int>(BroadcastClass::already_known));
        assert_int_not_equal(static_cast<int>(a.kind), static_cast<int>(BroadcastClass::accepted));
    }
    // A 5xx saying so is no answer at all.
    assert_int_equal(static_cast<int>(classify_broadcast(500, "already known", kTxid).kind),
                     static_cast<int>(BroadcastClass::malformed));
}

void broadcast_rejections(void **)
{
    BroadcastAnswer a = classify_broadcast(400, "{\"error\":\"Missing inputs\"}", kTxid);
    assert_int_equal(static_cast<int>(a.kind), static_cast<int>(BroadcastClass::rejected));
    assert_string_equal(a.reason.c_str(), "Missing inputs");
    BroadcastAnswer c = classify_broadcast(400, "txn-mempool-conflict\x01\n", kTxid);
    assert_int_equal(static_cast<int>(c.kind), static_cast<int>(BroadcastClass::rejected));
    assert_string_equal(c.reason.c_str(), "txn-mempool-conflict");  // control bytes never reach a log
    BroadcastAnswer big = classify_broadcast(400, std::string(5000, 'x'), kTxid);
    assert_true(big.reason.size() <= 240);
    for (long st : {401L, 403L, 404L, 408L, 429L})
        assert_int_equal(static_cast<int>(classify_broadcast(st, "nope", kTxid).kind),
                         static_cast<int>(BroadcastClass::not_ours));
    assert_int_equal(static_cast<int>(classify_broadcast(429, "slow down", kTxid).kind),
                     static_cast<int>(BroadcastClass::not_ours));
    assert_int_equal(static_cast<int>(classify_broadcast(302, "", kTxid).kind),
                     static_cast<int>(BroadcastClass::malformed));
}

void tx_answer(void **)
{
    auto ok = parse_tx_answer("{\"txid\":\"" + kTxid + "\",\"hex\":\"00AB\",\"blockheight\":7,\"confirmations\":2}",
                              kTxid);
    assert_true(ok.ok());
    assert_string_equal(ok->txid.c_str(), kTxid.c_str());
    assert_string_equal(ok->hex.c_str(), "00ab");
    assert_int_equal(ok->block_height, 7);
    assert_int_equal(ok->confirmations, 2);
    auto mempool = parse_tx_answer("{\"txid\":\"" + kTxid + "\",\"blockheight\":null}", kTxid);
    assert_true(mempool.ok());
    assert_int_equal(mempool->block_height, 0);
    // Another txid is not a confirmation of ours.
    assert_false(parse_tx_answer("{\"txid\":\"" + kOther + "\"}", kTxid).ok());
    for (const std::string &bad : {std::string("[]"), std::string("{}"), std::string("not json"),
                                   "{\"txid\":\"" + kTxid + "\",\"hex\":\"zz\"}",
                                   "{\"txid\":\"" + kTxid + "\",\"confirmations\":-1}",
                                   "{\"txid\":\"" + kTxid + "\",\"blockheight\":\"7\"}"})
        assert_int_equal(static_cast<int>(parse_tx_answer(bad, kTxid).error()), static_cast<int>(Errc::internal));
}

void unspent_answer(void **)
{
    const std::string item = "{\"tx_hash\":\"" + kTxid + "\",\"tx_pos\":1,\"value\":5000,\"height\":10}";
    auto both = parse_unspent_answer("[" + item + ",{\"tx_hash\":\"" + kOther +
                                     "\",\"tx_pos\":0,\"value\":1,\"height\":0}]");
    assert_true(both.ok());
    assert_int_equal(both->size(), 2);
    assert_int_equal((*both)[0].vout, 1);
    assert_int_equal((*both)[0].satoshis, 5000);
    assert_int_equal((*both)[0].confirmations, -1);  // needs the tip
    assert_int_equal((*both)[1].confirmations, 0);   // mempool
    auto wrapped = parse_unspent_answer("{\"result\":[" + item + "]}");
    assert_true(wrapped.ok());
    assert_int_equal(wrapped->size(), 1);
    for (const std::string &bad : {std::string("{}"), std::string("[1]"),
                                   "[{\"tx_hash\":\"" + kTxid + "\",\"tx_pos\":-1,\"value\":1}]",
                                   "[{\"tx_hash\":\"" + kTxid + "\",\"tx_pos\":4294967296,\"value\":1}]",
                                   "[{\"tx_hash\":\"" + kTxid + "\",\"tx_pos\":0,\"value\":2100000000000001}]",
                                   std::string("[{\"tx_hash\":\"xyz\",\"tx_pos\":0,\"value\":1}]")})
        assert_false(parse_unspent_answer(bad).ok());
}

void info_answer(void **)
{
    auto ok = parse_info_answer("{\"blocks\":12,\"bestblockhash\":\"" + kOther + "\"}");
    assert_true(ok.ok());
    assert_int_equal(ok->blocks, 12);
    assert_false(parse_info_answer("{\"blocks\":-1,\"bestblockhash\":\"" + kOther + "\"}").ok());
    assert_false(parse_info_answer("{\"blocks\":1}").ok());
}

}  // namespace

int main()
{
    const CMUnitTest tests[] = {
        cmocka_unit_test(broadcast_2xx),
        cmocka_unit_test(broadcast_already_known_needs_confirmation),
        cmocka_unit_test(broadcast_rejections),
        cmocka_unit_test(tx_answer),
        cmocka_unit_test(unspent_answer),
        cmocka_unit_test(info_answer),
    };
    return cmocka_run_group_tests_name("chain_client", tests, nullptr, nullptr);
}

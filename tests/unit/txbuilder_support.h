// SPDX-License-Identifier: MIT
// Shared by the transaction builder's unit tests: keys from a printed seed
// (PP_TEST_SEED to replay one), funding inputs, the KMS stand-in that signs
// locally, and the fee rule written out independently of the builder.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "chain/txbuilder.h"
#include "crypto/base58.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/secp256k1.h"
#include "crypto/tx.h"
#include "vectors.h"

namespace pp::test {

#define assert_errc(result, expected) \
    assert_string_equal(std::string(errc_name((result).error())).c_str(), std::string(errc_name(expected)).c_str())

inline std::string g_seed;

// Picks the seed (PP_TEST_SEED or random) and prints it; false when the
// crypto libraries do not start.
inline bool init_seed(const char *test_name)
{
    if (sodium_init() < 0 || !crypto::secp_init())
        return false;
    const char *env_seed = std::getenv("PP_TEST_SEED");
    if (env_seed && *env_seed) {
        g_seed = env_seed;
    } else {
        uint8_t r[8];
        randombytes_buf(r, sizeof r);
        g_seed = crypto::hex_encode(r);
    }
    std::printf("%s seed: PP_TEST_SEED=%s\n", test_name, g_seed.c_str());
    return true;
}

struct Key {
    crypto::Secret<32> sk;
    crypto::PubKey33 pub{};
    std::string key_id;  // hex of pub
    Bytes script;        // P2PKH of pub
};

// Deterministic from the seed: sha256("txbuilder" || seed || index || ctr).
inline Key make_key(uint32_t index)
{
    Key k;
    for (uint32_t ctr = 0;; ++ctr) {
        std::string material = "txbuilder|" + g_seed + "|" + std::to_string(index) + "|" + std::to_string(ctr);
        crypto::Hash256 h = crypto::sha256(crypto::as_bytes(material));
        std::copy(h.begin(), h.end(), k.sk.data());
        if (crypto::seckey_valid(k.sk)) break;
    }
    auto pk = crypto::pubkey_from_seckey(k.sk);
    assert_true(pk.ok());
    k.pub = crypto::serialize_pubkey(*pk);
    k.key_id = crypto::hex_encode(k.pub);
    k.script = crypto::p2pkh_script(crypto::pubkey_hash(k.pub));
    return k;
}

inline std::string fake_txid(uint32_t i)
{
    std::string material = "prev|" + g_seed + "|" + std::to_string(i);
    return crypto::hex_encode(crypto::sha256(crypto::as_bytes(material)));
}

inline chain::FundingInput funding(const Key &k, uint32_t i, uint64_t sats)
{
    chain::FundingInput in;
    in.utxo_id = 100 + i;
    in.txid = fake_txid(i);
    in.vout = i % 3;
    in.satoshis = sats;
    in.key_id = k.key_id;
    in.script = k.script;
    return in;
}

// The KMS stand-in: sign each digest with the input's key.
inline std::vector<kms::SignResult> sign_all(const chain::UnsignedTx &utx, const std::vector<const Key *> &keys)
{
    std::vector<kms::SignResult> out;
    for (size_t i = 0; i < utx.sighashes.size(); ++i) {
        auto der = crypto::ecdsa_sign_der(keys[i]->sk, utx.sighashes[i]);
        assert_true(der.ok());
        out.push_back(kms::SignResult{*der, keys[i]->pub});
    }
    return out;
}

// ceil(size · rate / 1000), at least 1 sat for a non-zero rate.
inline uint64_t ceil_fee(size_t size, uint64_t rate)
{
    if (rate == 0) return 0;
    return std::max<uint64_t>(1, (size * rate + 999) / 1000);
}

}  // namespace pp::test

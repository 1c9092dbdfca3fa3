// SPDX-License-Identifier: MIT
// Client for the chain API (the WhatsOnChain subset of DESIGN.md §4) over
// libcurl: broadcast, unspent outputs, chain info, transaction lookup. One
// Client per process, reused (keep-alive). Every call has a timeout; network
// errors and 5xx are retried with exponential backoff, 4xx are not.
// Errors: unavailable (down, timeout, 5xx after retries); conflict (the
// node rejected the transaction: double spend, missing inputs, bad script —
// the reason is in ChainError); not_found (unknown txid); internal (a
// malformed answer). A broadcast the node reports as already known succeeds
// only once GET tx/hash/{txid} confirms that the chain has that very txid.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pp::chain {

struct ChainOptions {
    std::string base_url;     // e.g. http://127.0.0.1:8091 (no trailing slash)
    std::string network;      // "main" | "test" — the {net} path segment
    std::string api_key;      // WOC_API_KEY, sent as the woc-api-key header when set
    long timeout_ms = 5000;
    int retries = 2;
};

struct Unspent {
    std::string txid;         // display hex
    uint32_t vout = 0;
    uint64_t satoshis = 0;
    int64_t height = 0;       // 0 while unconfirmed
    int64_t confirmations = 0;
};

struct ChainInfo {
    int64_t blocks = 0;
    std::string best_block_hash;
};

struct TxInfo {
    std::string txid;
    std::string hex;
    int64_t confirmations = 0;
    int64_t block_height = 0;  // 0 while in the mempool
};

// ---- response handling, pure (unit-tested and fuzzed) ----------------------

enum class BroadcastClass {
    accepted,       // 2xx naming our txid
    already_known,  // 4xx saying so: to be confirmed with GET tx/hash first
    rejected,       // 4xx: the node refused the transaction (reason set)
    not_ours,       // 401/403/404/408/429: key, URL or rate limit; wait, do not fail
    malformed,      // 2xx with no txid or another txid, or any other status
};

struct BroadcastAnswer {
    BroadcastClass kind = BroadcastClass::malformed;
    std::string reason;  // for rejected: the node's text, printable ASCII, bounded
};

// Classifies the answer to POST tx/raw for a transaction whose txid is
// local_txid (lowercase display hex).
BroadcastAnswer classify_broadcast(long status, std::string_view body, std::string_view local_txid);
// The 2xx body of GET tx/hash/{want_txid}; internal when malformed or about
// another txid.
Result<TxInfo> parse_tx_answer(std::string_view body, std::string_view want_txid);
// The 2xx body of GET address/{addr}/unspent (a list, or {"result": list});
// confirmations is -1 where the answer gives a height but no count.
Result<std::vector<Unspent>> parse_unspent_answer(std::string_view body);
// The 2xx body of GET chain/info.
Result<ChainInfo> parse_info_answer(std::string_view body);

class Client {
public:
    static Result<Client> create(ChainOptions opt);
    Client(Client &&) noexcept;
    Client &operator=(Client &&) noexcept;
    ~Client();

    // Returns the txid; on a rejection *reject_reason (if given) gets the
    // node's text (never echoed to API clients).
    Result<std::string> broadcast(std::string_view raw_hex, std::string *reject_reason = nullptr);
    Result<std::vector<Unspent>> unspent(std::string_view address);
    Result<ChainInfo> info();
    Result<TxInfo> tx(std::string_view txid);

private:
    struct Impl;
    explicit Client(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace pp::chain

// SPDX-License-Identifier: MIT
// Client for the chain API (the WhatsOnChain subset of DESIGN.md §4) over
// libcurl: broadcast, unspent outputs, chain info, transaction lookup. One
// Client per process, reused (keep-alive). Every call has a timeout; network
// errors and 5xx are retried with exponential backoff, 4xx are not.
// Errors: unavailable (down, timeout, 5xx after retries); conflict (the
// node rejected the transaction: double spend, missing inputs, bad script —
// the reason is in ChainError); not_found (unknown txid); internal (a
// malformed answer). A broadcast the node reports as already known succeeds.
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

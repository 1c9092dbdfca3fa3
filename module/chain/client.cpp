// SPDX-License-Identifier: MIT
#include "chain/client.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "common/json.h"
#include "crypto/base58.h"
#include "crypto/encoding.h"
#include "crypto/tx.h"
#include "http/curl_handles.h"
#include "log/log.h"

namespace pp::chain {
namespace {

// An address with many outputs answers with a long unspent list; a raw
// transaction carrying a record is well below this.
constexpr size_t kMaxResponseBytes = 16u << 20;
constexpr size_t kMaxReasonChars = 240;
constexpr long kMaxConnectTimeoutMs = 2000;
constexpr int kMaxRetries = 10;
// The node's wording for a transaction it already has; re-broadcasting the
// stored bytes after a crash must count as success (DESIGN.md §4).
constexpr const char *kAlreadyKnown[] = {"already known", "txn-already-known", "already in the mempool"};

using http::CurlPtr;
using http::SlistPtr;

bool retryable(CURLcode rc, long status) noexcept
{
    return rc != CURLE_OK || status >= 500;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (char &c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_txid(std::string_view s) noexcept
{
    return s.size() == 64 && crypto::is_hex(s);
}

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

// The text of an answer that is a JSON string, a JSON object with a message
// field, or plain text.
std::string answer_text(const std::string &body)
{
    json_error_t err;
    JsonPtr j(json_loadb(body.data(), body.size(), JSON_DECODE_ANY, &err));
    if (j && json_is_string(j.get()))
        return std::string(json_string_value(j.get()), json_string_length(j.get()));
    if (j && json_is_object(j.get())) {
        for (const char *key : {"error", "message", "reason", "txid"}) {
            const json_t *v = json_object_get(j.get(), key);
            if (json_is_string(v))
                return std::string(json_string_value(v), json_string_length(v));
        }
    }
    return std::string(trim(body));
}

// Node texts end up in our logs and job rows: printable ASCII, bounded.
std::string sanitize_reason(std::string_view text)
{
    std::string out;
    for (char c : text) {
        if (out.size() >= kMaxReasonChars)
            break;
        const auto u = static_cast<unsigned char>(c);
        out.push_back(u >= 0x20 && u < 0x7f ? c : ' ');
    }
    return std::string(trim(out));
}

bool json_int(const json_t *v, int64_t *out) noexcept
{
    if (!json_is_integer(v))
        return false;
    *out = static_cast<int64_t>(json_integer_value(v));
    return true;
}

}  // namespace

// ---- response handling -------------------------------------------------------

namespace {

JsonPtr load_any(std::string_view body)
{
    json_error_t err;
    return JsonPtr(json_loadb(body.data(), body.size(), JSON_DECODE_ANY, &err));
}

Result<Unspent> unspent_item(const json_t *item)
{
    const char *hash = json_string_value(json_object_get(item, "tx_hash"));
    int64_t pos = 0, value = 0, height = 0;
    if (!hash || !is_txid(hash) || !json_int(json_object_get(item, "tx_pos"), &pos) ||
        !json_int(json_object_get(item, "value"), &value) || pos < 0 || pos > int64_t{UINT32_MAX} || value < 0 ||
        static_cast<uint64_t>(value) > crypto::MAX_MONEY)
        return Errc::internal;
    const json_t *h = json_object_get(item, "height");
    if (h && !json_is_null(h) && !json_int(h, &height))
        return Errc::internal;
    Unspent u;
    u.txid = lower(hash);
    u.vout = static_cast<uint32_t>(pos);
    u.satoshis = static_cast<uint64_t>(value);
    u.height = std::max<int64_t>(0, height);  // some nodes say -1 for the mempool
    u.confirmations = -1;
    const json_t *conf = json_object_get(item, "confirmations");
    if (conf && !json_is_null(conf)) {
        if (!json_int(conf, &u.confirmations) || u.confirmations < 0)
            return Errc::internal;
    } else if (u.height == 0) {
        u.confirmations = 0;
    }
    return u;
}

}  // namespace

BroadcastAnswer classify_broadcast(long status, std::string_view body, std::string_view local_txid)
{
    BroadcastAnswer out;
    const std::string answer = answer_text(std::string(body));
    if (status >= 200 && status < 300) {
        const std::string txid = lower(trim(answer));
        if (is_txid(txid) && txid == lower(local_txid))
            out.kind = BroadcastClass::accepted;
        return out;
    }
    if (status < 400 || status >= 500)
        return out;
    const std::string l = lower(answer);
    for (const char *known : kAlreadyKnown) {
        if (l.find(known) != std::string::npos) {
            out.kind = BroadcastClass::already_known;
            return out;
        }
    }
    // Not the transaction's fault: wrong key, wrong URL, rate limited.
    if (status == 401 || status == 403 || status == 404 || status == 408 || status == 429) {
        out.kind = BroadcastClass::not_ours;
        return out;
    }
    out.kind = BroadcastClass::rejected;
    out.reason = sanitize_reason(answer);
    return out;
}

Result<TxInfo> parse_tx_answer(std::string_view body, std::string_view want_txid)
{
    const std::string want = lower(want_txid);
    JsonPtr j = load_any(body);
    const json_t *o = j.get();
    const char *id = json_string_value(json_object_get(o, "txid"));
    if (!json_is_object(o) || !id || !is_txid(want) || lower(id) != want)
        return Errc::internal;
    TxInfo out;
    out.txid = want;
    if (const json_t *hex = json_object_get(o, "hex"); hex && !json_is_null(hex)) {
        const char *h = json_string_value(hex);
        if (!h || !crypto::is_hex(h))
            return Errc::internal;
        out.hex = lower(h);
    }
    // blockheight is null (or absent) while the transaction is in the mempool.
    if (const json_t *bh = json_object_get(o, "blockheight"); bh && !json_is_null(bh)) {
        if (!json_int(bh, &out.block_height) || out.block_height < 0)
            return Errc::internal;
    }
    if (const json_t *conf = json_object_get(o, "confirmations"); conf && !json_is_null(conf)) {
        if (!json_int(conf, &out.confirmations) || out.confirmations < 0)
            return Errc::internal;
    }
    return out;
}

Result<std::vector<Unspent>> parse_unspent_answer(std::string_view body)
{
    JsonPtr j = load_any(body);
    const json_t *list = j.get();
    if (json_is_object(list))  // the newer {"result": [...]} shape
        list = json_object_get(list, "result");
    if (!json_is_array(list))
        return Errc::internal;
    std::vector<Unspent> out;
    size_t i;
    const json_t *item;
    json_array_foreach(list, i, item) {
        auto u = unspent_item(item);
        if (!u)
            return u.error();
        out.push_back(std::move(*u));
    }
    return out;
}

Result<ChainInfo> parse_info_answer(std::string_view body)
{
    JsonPtr j = load_any(body);
    ChainInfo out;
    const char *best = json_string_value(json_object_get(j.get(), "bestblockhash"));
    if (!json_int(json_object_get(j.get(), "blocks"), &out.blocks) || out.blocks < 0 || !best || !is_txid(best))
        return Errc::internal;
    out.best_block_hash = lower(best);
    return out;
}

struct Client::Impl {
    ChainOptions opt;
    CurlPtr curl;
    SlistPtr json_headers;  // [woc-api-key], Content-Type, Accept
    SlistPtr get_headers;   // [woc-api-key], Accept
    std::string body;       // last response

    struct Reply {
        long status = 0;
        std::string body;
    };

    // One call with retries on network errors and 5xx. `what` names the
    // endpoint in logs; paths (addresses, txids) and bodies are not logged.
    Result<Reply> call(const char *what, const std::string &path, const std::string *request_body)
    {
        const std::string url = opt.base_url + "/v1/bsv/" + opt.network + path;
        const int attempts = 1 + opt.retries;
        CURLcode rc = CURLE_OK;
        long status = 0;
        for (int attempt = 0; attempt < attempts; ++attempt) {
            if (attempt > 0) {
                // 100 ms · 2^n: rides out a node restart without holding a
                // worker's job lease for long.
                std::this_thread::sleep_for(std::chrono::milliseconds(100L << (attempt - 1)));
            }
            body.clear();
            CURL *c = curl.get();
            curl_easy_setopt(c, CURLOPT_URL, url.c_str());
            if (request_body) {
                curl_easy_setopt(c, CURLOPT_HTTPGET, 0L);
                curl_easy_setopt(c, CURLOPT_POST, 1L);
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, request_body->data());
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request_body->size()));
                curl_easy_setopt(c, CURLOPT_HTTPHEADER, json_headers.get());
            } else {
                curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
                curl_easy_setopt(c, CURLOPT_HTTPHEADER, get_headers.get());
            }
            rc = curl_easy_perform(c);
            status = 0;
            if (rc == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
            if (!retryable(rc, status))
                break;
            JsonPtr f(json_pack("{s:s,s:i,s:i}", "call", what, "attempt", attempt + 1, "status", int(status)));
            if (rc != CURLE_OK)
                json_object_set_new(f.get(), "curl", json_string(curl_easy_strerror(rc)));
            log::warn("chain call failed", f.get());
        }
        if (rc != CURLE_OK || status >= 500)
            return Errc::unavailable;  // down, timed out, or failing after retries
        Reply reply;
        reply.status = status;
        reply.body = std::move(body);
        body.clear();
        return reply;
    }

    // Status classes shared by the GET endpoints.
    static Result<void> check_status(const char *what, long status)
    {
        if (status >= 200 && status < 300)
            return {};
        if (status == 404)
            return Errc::not_found;
        JsonPtr f(json_pack("{s:s,s:i}", "call", what, "status", int(status)));
        log::warn("chain call refused", f.get());
        return status >= 400 ? Errc::unavailable : Errc::internal;
    }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::Client(Client &&) noexcept = default;
Client &Client::operator=(Client &&) noexcept = default;
Client::~Client() = default;

Result<Client> Client::create(ChainOptions opt)
{
    while (!opt.base_url.empty() && opt.base_url.back() == '/')
        opt.base_url.pop_back();
    const bool http = opt.base_url.rfind("http://", 0) == 0 || opt.base_url.rfind("https://", 0) == 0;
    // {net} is a path segment: only the two names the API knows.
    const bool net_ok = opt.network == "main" || opt.network == "test";
    if (!http || !net_ok || opt.timeout_ms <= 0 || opt.retries < 0 || opt.retries > kMaxRetries ||
        opt.base_url.find_first_of(" \r\n") != std::string::npos ||
        opt.api_key.find_first_of("\r\n") != std::string::npos)
        return Errc::invalid_argument;
    if (!http::curl_global_once())
        return Errc::internal;

    auto impl = std::make_unique<Impl>();
    impl->curl.reset(curl_easy_init());
    if (!impl->curl)
        return Errc::internal;

    impl->json_headers.reset(curl_slist_append(nullptr, "Content-Type: application/json"));
    impl->get_headers.reset(curl_slist_append(nullptr, "Accept: application/json"));
    if (!impl->json_headers || !impl->get_headers)
        return Errc::internal;
    for (const char *h : {"Accept: application/json", "Expect:"})
        if (!curl_slist_append(impl->json_headers.get(), h))
            return Errc::internal;
    if (!opt.api_key.empty()) {
        std::string header = "woc-api-key: " + opt.api_key;
        const bool ok = curl_slist_append(impl->json_headers.get(), header.c_str()) &&
                        curl_slist_append(impl->get_headers.get(), header.c_str());
        sodium_memzero(header.data(), header.size());
        if (!ok)
            return Errc::internal;
    }
    sodium_memzero(opt.api_key.data(), opt.api_key.size());
    opt.api_key.clear();  // lives only in the header lists from here on

    CURL *c = impl->curl.get();
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM games in our workers
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, opt.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(opt.timeout_ms, kMaxConnectTimeoutMs));
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect would carry the key elsewhere
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http::append_limited<kMaxResponseBytes>);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &impl->body);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "patchproof-chain-client/1");
    impl->opt = std::move(opt);
    return Client(std::move(impl));
}

Result<std::string> Client::broadcast(std::string_view raw_hex, std::string *reject_reason)
{
    auto raw = crypto::hex_decode(raw_hex);
    if (!raw || raw->empty())
        return Errc::invalid_argument;
    auto tx = crypto::parse_tx(*raw);
    if (!tx)
        return Errc::invalid_argument;
    // What the node must answer, and what we return for "already known".
    const std::string local_txid = crypto::txid_hex(*tx);

    JsonPtr req(json_pack("{s:s%}", "txhex", raw_hex.data(), raw_hex.size()));
    char *text = req ? json_dumps(req.get(), JSON_COMPACT) : nullptr;
    if (!text)
        return Errc::internal;
    const std::string body(text);
    std::free(text);

    auto reply = impl_->call("broadcast", "/tx/raw", &body);
    if (!reply)
        return reply.error();
    BroadcastAnswer ans = classify_broadcast(reply->status, reply->body, local_txid);
    switch (ans.kind) {
    case BroadcastClass::accepted:
        return local_txid;
    case BroadcastClass::already_known: {
        // Words are not proof: the chain must know this very txid.
        auto known = Client::tx(local_txid);
        if (known)
            return local_txid;
        if (known.error() != Errc::not_found)
            return known.error() == Errc::unavailable ? Errc::unavailable : Errc::internal;
        log::warn("chain said already known, but does not know the txid");
        if (reject_reason)
            *reject_reason = sanitize_reason(answer_text(reply->body));
        return Errc::conflict;
    }
    case BroadcastClass::rejected:
        if (reject_reason)
            *reject_reason = std::move(ans.reason);
        return Errc::conflict;
    case BroadcastClass::not_ours: {
        JsonPtr f(json_pack("{s:s,s:i}", "call", "broadcast", "status", int(reply->status)));
        log::warn("chain call refused", f.get());
        return Errc::unavailable;
    }
    case BroadcastClass::malformed:
        break;
    }
    if (reply->status >= 200 && reply->status < 300)
        log::warn("chain broadcast answered no txid or a different one");
    return Errc::internal;
}

Result<std::vector<Unspent>> Client::unspent(std::string_view address)
{
    auto net = crypto::parse_network(impl_->opt.network);
    if (!net || !crypto::parse_p2pkh_address(address, *net))
        return Errc::invalid_argument;  // also keeps the path segment to base58
    auto reply = impl_->call("unspent", "/address/" + std::string(address) + "/unspent", nullptr);
    if (!reply)
        return reply.error();
    if (auto st = Impl::check_status("unspent", reply->status); !st)
        return st.error();
    auto out = parse_unspent_answer(reply->body);
    if (!out)
        return out.error();
    const bool need_tip = std::any_of(out->begin(), out->end(), [](const Unspent &u) { return u.confirmations < 0; });
    if (need_tip) {
        // Only when the answer lacks confirmations: one extra round trip.
        auto tip = info();
        if (!tip)
            return tip.error();
        for (Unspent &u : *out)
            if (u.confirmations < 0)
                u.confirmations = tip->blocks >= u.height ? tip->blocks - u.height + 1 : 0;
    }
    return out;
}

Result<ChainInfo> Client::info()
{
    auto reply = impl_->call("info", "/chain/info", nullptr);
    if (!reply)
        return reply.error();
    if (auto st = Impl::check_status("info", reply->status); !st)
        return st.error();
    return parse_info_answer(reply->body);
}

Result<TxInfo> Client::tx(std::string_view txid)
{
    if (!is_txid(txid))
        return Errc::invalid_argument;
    const std::string want = lower(txid);
    auto reply = impl_->call("tx", "/tx/hash/" + want, nullptr);
    if (!reply)
        return reply.error();
    if (auto st = Impl::check_status("tx", reply->status); !st)
        return st.error();
    return parse_tx_answer(reply->body, want);
}

}  // namespace pp::chain

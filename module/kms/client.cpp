// SPDX-License-Identifier: MIT
#include "kms/client.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "common/json.h"
#include "crypto/encoding.h"
#include "http/curl_handles.h"
#include "log/log.h"

namespace pp::kms {
namespace {

constexpr size_t kMaxResponseBytes = 1u << 20;  // 64 signatures are ~10 KiB
constexpr size_t kMaxSignRequests = 64;          // the KMS's own limit
constexpr long kMaxConnectTimeoutMs = 1000;

using http::CurlPtr;
using http::SlistPtr;

void wipe(std::string &s) noexcept
{
    if (!s.empty())
        sodium_memzero(s.data(), s.size());
    s.clear();
}

bool retryable(CURLcode rc, long status) noexcept
{
    return rc != CURLE_OK || status >= 500;
}

}  // namespace

struct Client::Impl {
    ClientOptions opt;
    CurlPtr curl;
    SlistPtr json_headers;  // Authorization, Content-Type, Accept
    SlistPtr get_headers;   // Authorization, Accept
    std::string body;       // last response; wiped before reuse

    ~Impl() { wipe(body); }

    struct Reply {
        long status = 0;
        JsonPtr json;
    };

    // One call with retries. Everything a secret may pass through (the
    // response body) is wiped by the caller or on the next call.
    Result<Reply> call(std::string_view path, const std::string *request_body, CallLimits limits = {})
    {
        const std::string url = opt.base_url + std::string(path);
        const int retries = limits.retries >= 0 ? limits.retries : opt.retries;
        const int attempts = 1 + std::max(0, retries);
        const long timeout_ms = limits.timeout_ms > 0 ? limits.timeout_ms : opt.timeout_ms;
        curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, kMaxConnectTimeoutMs));
        CURLcode rc = CURLE_OK;
        long status = 0;
        for (int attempt = 0; attempt < attempts; ++attempt) {
            if (attempt > 0) {
                // 50 ms · 2^n: long enough for a KMS worker restart, short
                // enough to stay inside the caller's own request budget.
                std::this_thread::sleep_for(std::chrono::milliseconds(50L << (attempt - 1)));
            }
            wipe(body);
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
            // Outcome only: no URL query, header or body goes to the log.
            JsonPtr f(json_pack("{s:s,s:i,s:i}", "path", std::string(path).c_str(), "attempt", attempt + 1,
                                "status", int(status)));
            if (rc != CURLE_OK)
                json_object_set_new(f.get(), "curl", json_string(curl_easy_strerror(rc)));
            log::warn("kms call failed", f.get());
        }
        if (rc != CURLE_OK || status >= 500)
            return Errc::unavailable;  // down, timed out, or failing after retries
        if (status == 401 || status == 403) {
            // Our own credential refused (revoked, rotated, a scope missing):
            // a deployment fault to fix, not a bad request. Reported like an
            // outage, so callers answer 503 and queued jobs wait instead of
            // using up their attempts, and said loudly once per call.
            JsonPtr f(json_pack("{s:s,s:i}", "path", std::string(path).c_str(), "status", int(status)));
            log::error("kms refused this process's credential", f.get());
            return Errc::unavailable;
        }
        if (status >= 400)
            return Errc::invalid_argument;
        if (status != 200)
            return Errc::internal;
        Reply reply;
        reply.status = status;
        json_error_t err;
        reply.json.reset(json_loadb(body.data(), body.size(), 0, &err));
        if (!reply.json || !json_is_object(reply.json.get())) {
            wipe(body);
            return Errc::internal;
        }
        return reply;
    }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::Client(Client &&) noexcept = default;
Client &Client::operator=(Client &&) noexcept = default;
Client::~Client() = default;

Result<Client> Client::create(ClientOptions opt)
{
    while (!opt.base_url.empty() && opt.base_url.back() == '/')
        opt.base_url.pop_back();
    const bool http = opt.base_url.rfind("http://", 0) == 0 || opt.base_url.rfind("https://", 0) == 0;
    if (!http || opt.api_key.empty() || opt.timeout_ms <= 0 || opt.retries < 0 ||
        opt.api_key.find_first_of("\r\n") != std::string::npos)
        return Errc::invalid_argument;
    if (!http::curl_global_once())
        return Errc::internal;

    auto impl = std::make_unique<Impl>();
    impl->curl.reset(curl_easy_init());
    if (!impl->curl)
        return Errc::internal;

    std::string auth = "Authorization: Bearer " + opt.api_key;
    impl->json_headers.reset(curl_slist_append(nullptr, auth.c_str()));
    impl->get_headers.reset(curl_slist_append(nullptr, auth.c_str()));
    wipe(auth);
    sodium_memzero(opt.api_key.data(), opt.api_key.size());
    opt.api_key.clear();  // lives only in the header lists from here on
    if (!impl->json_headers || !impl->get_headers)
        return Errc::internal;
    for (const char *h : {"Content-Type: application/json", "Accept: application/json", "Expect:"})
        if (!curl_slist_append(impl->json_headers.get(), h))
            return Errc::internal;
    if (!curl_slist_append(impl->get_headers.get(), "Accept: application/json"))
        return Errc::internal;

    CURL *c = impl->curl.get();
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM games in our workers
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
    curl_easy_setopt(c, CURLOPT_USERAGENT, "patchproof-kms-client/1");
    impl->opt = std::move(opt);
    return Client(std::move(impl));
}

Result<std::vector<SignResult>> Client::sign(std::span<const SignRequest> requests)
{
    if (requests.empty() || requests.size() > kMaxSignRequests)
        return Errc::invalid_argument;
    JsonPtr req(json_object());
    json_t *arr = json_array();
    json_object_set_new(req.get(), "requests", arr);
    std::vector<crypto::PublicKey> expected;
    expected.reserve(requests.size());
    for (const SignRequest &r : requests) {
        crypto::PubKey33 pk33{};
        if (!crypto::hex_decode_into(pk33, r.key_identifier))
            return Errc::invalid_argument;
        auto pk = crypto::parse_pubkey(pk33);
        if (!pk)
            return Errc::invalid_argument;
        expected.push_back(*pk);
        const std::string digest = crypto::hex_encode(r.digest);
        json_array_append_new(arr, json_pack("{s:s,s:s}", "keyIdentifier", r.key_identifier.c_str(), "sighash",
                                             digest.c_str()));
    }
    char *text = json_dumps(req.get(), JSON_COMPACT);
    if (!text)
        return Errc::internal;
    const std::string body(text);
    std::free(text);

    auto reply = impl_->call("/sign", &body);
    if (!reply)
        return reply.error();
    const json_t *sigs = json_object_get(reply->json.get(), "signatures");
    if (!json_is_array(sigs) || json_array_size(sigs) != requests.size())
        return Errc::internal;
    std::vector<SignResult> out;
    out.reserve(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
        const json_t *item = json_array_get(sigs, i);
        const char *sig_hex = json_string_value(json_object_get(item, "signatureHex"));
        const char *pub_hex = json_string_value(json_object_get(item, "pubKeyHex"));
        if (!sig_hex || !pub_hex)
            return Errc::internal;
        SignResult r;
        auto der = crypto::hex_decode(sig_hex);
        if (!der || der->size() > crypto::kMaxDerSigBytes || !crypto::hex_decode_into(r.pubkey, pub_hex))
            return Errc::internal;
        // Check what we are about to put on chain: the right key, strict
        // DER, low-S and a valid signature over this digest.
        if (crypto::serialize_pubkey(expected[i]) != r.pubkey ||
            !crypto::ecdsa_verify_der(*der, requests[i].digest, expected[i]))
            return Errc::internal;
        r.der = std::move(*der);
        out.push_back(std::move(r));
    }
    return out;
}

Result<DeriveResult> Client::derive_secret(std::string_view m_hex, std::string_view pmc_hex)
{
    if (m_hex.size() != 48 || pmc_hex.size() != 66 || !crypto::is_hex(m_hex) || !crypto::is_hex(pmc_hex))
        return Errc::invalid_argument;
    JsonPtr req(json_pack("{s:s%,s:s%}", "Mhex", m_hex.data(), m_hex.size(), "pmcHex", pmc_hex.data(),
                          pmc_hex.size()));
    char *text = json_dumps(req.get(), JSON_COMPACT);
    if (!text)
        return Errc::internal;
    const std::string body(text);
    std::free(text);

    auto reply = impl_->call("/svd/derive-secret", &body);
    if (!reply)
        return reply.error();
    json_t *secret = json_object_get(reply->json.get(), "sharedSecretHex");
    const char *kid = json_string_value(json_object_get(reply->json.get(), "kid"));
    DeriveResult out;
    bool ok = json_is_string(secret) && kid && *kid &&
              crypto::hex_decode_into(out.shared_secret.span(), json_string_value(secret)).ok();
    if (ok)
        out.kid = kid;
    // The secret's hex sits in jansson's string and in our response buffer:
    // wipe both before they go back to the allocator.
    if (json_is_string(secret))
        sodium_memzero(const_cast<char *>(json_string_value(secret)), json_string_length(secret));
    wipe(impl_->body);
    if (!ok)
        return Errc::internal;
    return out;
}

Result<std::vector<KeyInfo>> Client::keys(CallLimits limits)
{
    auto reply = impl_->call("/keys", nullptr, limits);
    if (!reply)
        return reply.error();
    const json_t *keys = json_object_get(reply->json.get(), "keys");
    if (!json_is_array(keys))
        return Errc::internal;
    std::vector<KeyInfo> out;
    size_t i;
    json_t *item;
    json_array_foreach(keys, i, item) {
        const char *label = json_string_value(json_object_get(item, "label"));
        const char *kid = json_string_value(json_object_get(item, "keyIdentifier"));
        const char *main = json_string_value(json_object_get(item, "addressMain"));
        const char *test = json_string_value(json_object_get(item, "addressTest"));
        if (!label || !kid || !main || !test)
            return Errc::internal;
        out.push_back(KeyInfo{label, kid, main, test});
    }
    return out;
}

Result<void> Client::health(CallLimits limits)
{
    auto reply = impl_->call("/health", nullptr, limits);
    if (!reply)
        return reply.error();
    const char *status = json_string_value(json_object_get(reply->json.get(), "status"));
    if (!status || std::strcmp(status, "ok") != 0)
        return Errc::unavailable;
    return {};
}

}  // namespace pp::kms

// SPDX-License-Identifier: MIT
// RAII for libcurl handles and the pieces every outgoing HTTP client of ours
// (KMS, chain API) shares. Single-threaded processes only.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>

#include <curl/curl.h>
#include <sodium.h>

namespace pp::http {

struct CurlDeleter {
    void operator()(CURL *c) const noexcept { curl_easy_cleanup(c); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;

// Header lists may carry an API key: wipe their strings before curl frees them.
struct SlistDeleter {
    void operator()(curl_slist *l) const noexcept
    {
        for (curl_slist *p = l; p; p = p->next)
            if (p->data)
                sodium_memzero(p->data, std::strlen(p->data));
        curl_slist_free_all(l);
    }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

// curl_global_init is not thread-safe; our processes call this before their
// first handle.
inline bool curl_global_once() noexcept
{
    static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    return ok;
}

// CURLOPT_WRITEFUNCTION appending to the std::string in CURLOPT_WRITEDATA,
// refusing (CURLE_WRITE_ERROR) an answer longer than Limit bytes.
template <size_t Limit>
size_t append_limited(char *data, size_t size, size_t nmemb, void *userp) noexcept
{
    auto *out = static_cast<std::string *>(userp);
    const size_t n = size * nmemb;
    if (out->size() + n > Limit)
        return 0;
    try {
        out->append(data, n);
    } catch (...) {
        return 0;  // no exception may cross the C callback
    }
    return n;
}

}  // namespace pp::http

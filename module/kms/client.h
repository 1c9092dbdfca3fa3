// SPDX-License-Identifier: MIT
// HTTP client for the KMS contract of DESIGN.md §4 (libcurl). One Client per
// worker process, reused across requests so the connection is kept alive.
// Every call has a total timeout; network errors and 5xx answers are retried
// with exponential backoff, 4xx answers are not. Not thread-safe.
// Errors: unavailable (down, timeout, 5xx after retries, and 401/403: our
// own credential refused, a deployment fault that must not fail queued work),
// invalid_argument (the KMS refused the request: other 4xx), internal
// (malformed answer).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "crypto/hash.h"
#include "crypto/secp256k1.h"
#include "crypto/secret.h"

namespace pp::kms {

struct SignRequest {
    std::string key_identifier;  // compressed public key, hex
    crypto::Hash256 digest;      // signed as is
};

struct SignResult {
    Bytes der;                   // strict DER, low-S
    crypto::PubKey33 pubkey;
};

struct DeriveResult {
    crypto::Secret<32> shared_secret;
    std::string kid;
};

struct KeyInfo {
    std::string label;           // issuer | funding | change | svd
    std::string key_identifier;  // compressed public key, hex
    std::string address_main, address_test;
};

struct ClientOptions {
    std::string base_url;        // e.g. http://127.0.0.1:8090
    std::string api_key;         // sent as Authorization: Bearer; never logged
    long timeout_ms = 2000;
    int retries = 2;
};

// Limits for one call that override the client's own: 0 / -1 keep them.
struct CallLimits {
    long timeout_ms = 0;
    int retries = -1;
};
// For dependency probes (/ready): answer fast, never retry.
inline constexpr CallLimits kProbe{300, 0};

class Client {
public:
    static Result<Client> create(ClientOptions opt);
    Client(Client &&) noexcept;
    Client &operator=(Client &&) noexcept;
    ~Client();

    Result<std::vector<SignResult>> sign(std::span<const SignRequest> requests);
    Result<DeriveResult> derive_secret(std::string_view m_hex, std::string_view pmc_hex);
    Result<std::vector<KeyInfo>> keys(CallLimits limits = {});
    Result<void> health(CallLimits limits = {});

private:
    struct Impl;
    explicit Client(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace pp::kms

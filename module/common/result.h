// SPDX-License-Identifier: MIT
// Errors as values: every fallible function at a module boundary returns
// Result<T>. No exceptions cross module boundaries or the FastCGI loop.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace pp {

using Bytes = std::vector<uint8_t>;

enum class Errc {
    ok = 0,
    invalid_argument,   // caller broke the contract (empty, wrong length)
    bad_hex,
    bad_base64,
    bad_base58,
    bad_checksum,
    bad_version,        // wrong network / version byte
    bad_length,
    bad_key,            // not a compressed point on the curve, or bad scalar
    bad_der,            // not strict DER
    high_s,             // signature is not low-S
    verify_failed,
    bad_json,
    token_invalid,
    token_expired,
    parse_error,        // truncated or malformed binary encoding
    out_of_range,
    not_found,
    conflict,           // lost an optimistic-lock race, duplicate key
    deadlock,           // the server aborted the transaction (deadlock, lock-wait
                        // timeout, Galera certification): re-run it whole
    unavailable,        // a backing service (MariaDB, memcached, KMS, chain) is down
    timeout,
    internal,
};

// Stable, secret-free text for logs and error bodies.
std::string_view errc_name(Errc e) noexcept;

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : value_(std::move(value)), err_(Errc::ok) {}  // NOLINT: implicit by design
    Result(Errc err) : err_(err) {}                                  // NOLINT

    bool ok() const noexcept { return err_ == Errc::ok; }
    explicit operator bool() const noexcept { return ok(); }
    Errc error() const noexcept { return err_; }

    T &value() & { return *value_; }
    const T &value() const & { return *value_; }
    T &&value() && { return std::move(*value_); }
    T &operator*() & { return *value_; }
    const T &operator*() const & { return *value_; }
    T *operator->() { return &*value_; }
    const T *operator->() const { return &*value_; }

private:
    std::optional<T> value_;
    Errc err_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() : err_(Errc::ok) {}
    Result(Errc err) : err_(err) {}  // NOLINT
    bool ok() const noexcept { return err_ == Errc::ok; }
    explicit operator bool() const noexcept { return ok(); }
    Errc error() const noexcept { return err_; }

private:
    Errc err_;
};

}  // namespace pp

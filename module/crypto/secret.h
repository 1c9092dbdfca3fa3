// SPDX-License-Identifier: MIT
// Secret<N>: fixed-size secret bytes. Not copyable, never printable, wiped on
// destruction. Compare with equal_ct(), never with memcmp or ==.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <sodium.h>

namespace pp::crypto {

template <size_t N>
class Secret {
public:
    Secret() { bytes_.fill(0); }
    explicit Secret(std::span<const uint8_t, N> src) { std::copy(src.begin(), src.end(), bytes_.begin()); }
    ~Secret() { sodium_memzero(bytes_.data(), N); }
    Secret(const Secret &) = delete;
    Secret &operator=(const Secret &) = delete;
    Secret(Secret &&other) noexcept
    {
        bytes_ = other.bytes_;
        sodium_memzero(other.bytes_.data(), N);
    }
    Secret &operator=(Secret &&other) noexcept
    {
        if (this != &other) {
            bytes_ = other.bytes_;
            sodium_memzero(other.bytes_.data(), N);
        }
        return *this;
    }

    uint8_t *data() noexcept { return bytes_.data(); }
    const uint8_t *data() const noexcept { return bytes_.data(); }
    static constexpr size_t size() noexcept { return N; }
    std::span<const uint8_t, N> span() const noexcept { return std::span<const uint8_t, N>(bytes_); }
    std::span<uint8_t, N> span() noexcept { return std::span<uint8_t, N>(bytes_); }

private:
    std::array<uint8_t, N> bytes_;
};

// Constant-time equality for equal-length buffers; false when lengths differ
// (length is not secret).
inline bool equal_ct(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept
{
    if (a.size() != b.size())
        return false;
    if (a.empty())
        return true;
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace pp::crypto

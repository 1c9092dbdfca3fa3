// SPDX-License-Identifier: MIT
// Who may use the KMS, and for what (DESIGN.md §4). patchproof-kms reads the
// file named by KMS_CLIENTS_FILE once at start-up:
//   {"clients":[{"name":"api",
//                "tokenSha256":"<64 hex: SHA-256 of the bearer token>",
//                "scopes":[{"use":"sign","label":"issuer"},{"use":"derive","label":"svd"},
//                          {"use":"read"},{"use":"sun-verify"}]}]}
// `use` is one of sign, derive, read, sun-verify, sun-provision. sign and
// derive name the key label they cover (derive only "svd"); read covers GET
// /keys and takes no label; the sun uses may name a label. Unknown fields,
// duplicate names or token hashes, and a client without scopes are errors:
// a file that does not say exactly what is meant refuses start-up.
//
// The file holds hashes only, so it is not secret; a presented token is
// hashed and compared with every client's hash in constant time.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "crypto/hash.h"

namespace pp::kms {

enum class Use { sign, derive, read, sun_verify, sun_provision };

std::string_view use_name(Use u) noexcept;

struct Scope {
    Use use = Use::read;
    std::string label;  // empty: the use as a whole (read, sun-*)
};

struct ClientEntry {
    std::string name;
    crypto::Hash256 token_sha256{};
    std::vector<Scope> scopes;
};

class Clients {
public:
    // Errors: parse_error (not JSON / wrong shape, *detail says where),
    // invalid_argument (no clients). *detail never holds a hash.
    static Result<Clients> parse(std::string_view json_text, std::string *detail);
    // Reads and parses a file (at most 1 MiB). unavailable when unreadable.
    static Result<Clients> load(const std::string &path, std::string *detail);

    // The client whose token hashes to `token_sha256`, or null. Every entry
    // is compared (no early exit), each in constant time.
    const ClientEntry *find(std::span<const uint8_t, 32> token_sha256) const noexcept;
    // The client presenting `token`, or null.
    const ClientEntry *authenticate(std::string_view token) const noexcept;

    const std::vector<ClientEntry> &entries() const noexcept { return entries_; }

private:
    std::vector<ClientEntry> entries_;
};

// May `c` use a key labelled `label` for `use`? For read, label is ignored.
bool allows(const ClientEntry &c, Use use, std::string_view label) noexcept;
// Does `c` hold `use` for any label at all (route-level check)?
bool allows_any(const ClientEntry &c, Use use) noexcept;

}  // namespace pp::kms

// SPDX-License-Identifier: MIT
// Start-up self-test (DESIGN.md §5): known answers for every primitive the
// service depends on, so a drifted or miscompiled library stops the process
// before it serves anything. Needs secp_init() first. Pure, no I/O.
#pragma once

#include <string_view>

#include "common/result.h"

namespace pp::crypto {

// ok, or Errc::internal with *failed_check naming the first check that failed
// (a static string such as "sha256" or "sighash_forkid").
Result<void> self_test(std::string_view *failed_check) noexcept;

}  // namespace pp::crypto

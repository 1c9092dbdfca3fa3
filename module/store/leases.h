// SPDX-License-Identifier: MIT
// Named leases (table leases): at most one holder of a name at a time, for
// singleton work that must not run twice at once (admin runs such as UTXO
// maintenance). A lease expires at expires_at (unix seconds); after that
// anyone may take it over. Every change is version-guarded, so of two
// processes racing for a name exactly one wins, and a holder whose lease was
// taken over cannot renew or release the new holder's lease.
//
// Times are passed in (now_sec), never read here, so callers on several
// hosts compare one clock (wall time) and tests need no sleeps.
//
// Ownership and failure model: functions run on the caller's Db (one per
// process, not thread-safe) in autocommit, outside any transaction of the
// caller (a lease outlives transactions). Errc::conflict: someone else holds
// the lease (or took it over); other MariaDB errors as they are. A caller
// that sees anything but success must stop the work the lease guards.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/db.h"

namespace pp::store {

struct Lease {
    std::string name, holder;
    int64_t expires_at = 0;  // unix seconds
    int64_t version = 0;
};

// Takes `name` for `holder` until now_sec + ttl_sec. Succeeds when the name is
// free, expired, or already held by `holder` (then it is renewed); conflict
// while another holder's lease runs. invalid_argument for an empty name or
// holder or ttl_sec < 1.
Result<Lease> acquire_lease(Db &db, std::string_view name, std::string_view holder, int64_t now_sec,
                            int64_t ttl_sec);
// Extends a lease we hold to now_sec + ttl_sec. conflict when it expired or
// is no longer ours at lease.version (taken over or released).
Result<void> renew_lease(Db &db, Lease &lease, int64_t now_sec, int64_t ttl_sec);
// Gives the lease up; conflict when it is no longer ours at lease.version.
Result<void> release_lease(Db &db, const Lease &lease);

}  // namespace pp::store

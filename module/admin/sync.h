// SPDX-License-Identifier: MIT
// `sync` of UTXO maintenance (DESIGN.md §3 Admin, §4): the pool reconciled
// with the chain's unspent outputs of the funding and change addresses.
//
//   listed, not in the pool        → added: `available` when the output is
//                                    from a transaction of ours (change) or
//                                    has minConfirmations, else `unconfirmed`
//   pooled unconfirmed, listed with
//   minConfirmations               → available (updated)
//   pooled quarantined, listed     → released (available; `unconfirmed` for
//                                    an outside output still short of
//                                    minConfirmations)
//   pooled available/unconfirmed,
//   not listed                     → `spent` when a stored transaction of
//                                    ours spends it and the chain knows that
//                                    transaction, else `quarantined`
//   locked                         → never touched
//
// Race safety: the pool is read BEFORE the chain is asked, and every change
// is a version-guarded UPDATE of the row as read. An output a worker locks
// after the read (and spends, so the chain stops listing it) has moved on
// in version and is left alone; change a worker adds after the read is
// either listed (then the add meets the worker's row and is skipped) or not
// yet listed (then sync does not see it at all).
#pragma once

#include <cstdint>
#include <functional>

#include "admin/plan.h"
#include "chain/client.h"
#include "common/result.h"
#include "store/db.h"

namespace pp::admin {

struct SyncCounts {
    uint64_t added = 0, updated = 0, marked_spent = 0, quarantined = 0, released = 0;
};

// Renews the run's lease (LeaseRun::keep); an error (conflict: the lease
// was lost) stops the sync before it changes anything more.
using KeepLease = std::function<Result<void>()>;

// dry_run: counts what it would change and writes nothing. keep (may be
// empty) is called before the first chain call and before each pool entry
// and each new output, so a sync that makes many
// chain calls holds its lease throughout and never goes on once another
// host took it over. Errors: conflict from keep, invalid_argument when the
// funding/change address and key id do not match (or the funding address is
// not set), unavailable when the chain cannot be asked, MariaDB errors as
// they are.
Result<SyncCounts> sync_pool(store::Db &db, chain::Client &chain, const MaintainSettings &s, bool dry_run,
                             const KeepLease &keep = {});

}  // namespace pp::admin

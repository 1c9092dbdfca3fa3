// SPDX-License-Identifier: MIT
// UTXO health and maintenance runs (DESIGN.md §3 Admin): the one code path
// behind GET /v1/admin/utxo-health, POST /v1/admin/utxo-maintain and
// `patchproof utxo maintain`.
//
// A maintenance run (not a dry run) takes the "utxo-maintain" lease
// (admin/run.h: conflict while another run holds it or a sweep/split job is
// unfinished), syncs, plans, writes each transaction as a job whose inputs
// are locked in the same store::with_txn, and waits up to ADMIN_WAIT_SEC for
// patchproof-worker to store the signed transactions. A dry run takes no
// lease and writes nothing: it reports what a run would do now.
//
// Ownership: borrows the caller's Db and chain client; single-threaded.
#pragma once

#include <cstdint>
#include <optional>

#include "admin/plan.h"
#include "chain/client.h"
#include "common/json.h"
#include "common/result.h"
#include "config/config.h"
#include "store/db.h"

namespace pp::admin {

// A chain client for CHAIN_API_URL / CHAIN_NETWORK; nullopt when the URL is
// not set or not usable.
std::optional<chain::Client> chain_client(const config::Config &cfg);

// MaintainSettings with the fee as the worker will use it: the settings
// table's FEE_PER_KB, else the environment's.
Result<MaintainSettings> resolve_settings(store::Db &db, const config::Config &cfg);

// The utxo-health body. A chain that cannot be asked (or no client) gives
// "chain":{"error":...}; only a database error fails.
Result<JsonPtr> utxo_health(store::Db &db, chain::Client *chain, const MaintainSettings &s);

struct MaintainOutcome {
    JsonPtr body;             // {success, action, result:{...}} (+ dryRun)
    bool all_signed = true;   // false: waiting ended first (202 / exit 3)
    bool any_failed = false;  // a job failed: success is false
};

// Errors: conflict (another run holds the lease, or a sweep/split job is
// unfinished), unavailable (the chain, for sync), invalid_argument (the
// funding/change configuration), MariaDB errors as they are.
Result<MaintainOutcome> run_maintain(store::Db &db, chain::Client *chain, const MaintainSettings &s, Action action,
                                     bool dry_run);

}  // namespace pp::admin

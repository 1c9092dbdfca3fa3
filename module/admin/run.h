// SPDX-License-Identifier: MIT
// One admin run at a time across every host (DESIGN.md §3 Admin, "Who
// signs"): maintenance and anchoring each take a named lease in MariaDB
// (store/leases.h), plan, write their jobs, and wait up to ADMIN_WAIT_SEC for
// patchproof-worker to store the signed transactions. The routes and the CLI
// use this one code path.
//
// A run counts as running until its jobs are done or failed: begin() refuses
// (conflict) while another holder's lease runs OR a job of the run's kinds is
// still unfinished, so a run that answered 202 still blocks the next one
// until the worker finished its jobs. A holder killed mid-run leaves a lease
// that expires after ADMIN_LEASE_SEC and is then taken over.
//
// Ownership: borrows the caller's Db (one per process, not thread-safe); the
// lease is released when the LeaseRun goes out of scope (best effort: if that
// fails, the lease simply expires).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/db.h"
#include "store/jobs.h"
#include "store/leases.h"

namespace pp::admin {

// Lease names, one per kind of run.
inline constexpr std::string_view kMaintainLease = "utxo-maintain";
inline constexpr std::string_view kAnchorLease = "batch-anchor";

// A process-unique holder name: host, pid and 64 random bits.
std::string holder_name();

class LeaseRun {
public:
    // Errc::conflict while another run holds `name` or a job of one of
    // `kinds` is unfinished; MariaDB errors as they are.
    static Result<LeaseRun> begin(store::Db &db, std::string_view name, std::vector<store::JobKind> kinds,
                                  int64_t ttl_sec);
    LeaseRun(LeaseRun &&other) noexcept;
    LeaseRun &operator=(LeaseRun &&) = delete;
    LeaseRun(const LeaseRun &) = delete;
    ~LeaseRun();

    // Renews the lease once a third of its TTL has passed; conflict when it
    // was lost (expired and taken over): stop the run.
    Result<void> keep();

private:
    LeaseRun(store::Db &db, store::Lease lease, int64_t ttl_sec, int64_t renewed_at);
    store::Db *db_;
    store::Lease lease_;
    int64_t ttl_sec_;
    int64_t renewed_at_;  // unix seconds
    bool held_ = true;
};

// A job of the run once waiting ended: txid set when the worker stored its
// signed transaction; failed when it gave up.
struct JobOutcome {
    uint64_t job_id = 0;
    std::optional<std::string> txid;
    bool failed = false;
    std::optional<std::string> error;
};

// Waits up to wait_sec (polling, renewing the lease) until every job has a
// txid or failed. all_signed tells whether waiting ended because of that
// (200) or the time ran out (202).
struct WaitOutcome {
    std::vector<JobOutcome> jobs;
    bool all_signed = false;
};
Result<WaitOutcome> wait_signed(store::Db &db, LeaseRun &run, const std::vector<uint64_t> &job_ids,
                                int64_t wait_sec);

// Unix seconds, wall clock (leases are compared across hosts).
int64_t now_sec();

}  // namespace pp::admin

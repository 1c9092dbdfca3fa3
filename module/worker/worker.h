// SPDX-License-Identifier: MIT
// patchproof-worker: signs and broadcasts every transaction the service puts
// on chain (DESIGN.md §1, §3 "Who signs", §4): records, pool maintenance and
// batch anchors, one job each (store/jobs.h JobKind).
//
// Any number of workers, on any host, share the jobs table (store/jobs.h).
// A worker claims one job with a lease and runs it step by step; each step
// is stored before the next one starts, so a worker killed at any point is
// resumed by another from the last stored step:
//
//   queued         record / anchor: lock funding UTXOs for the job (none
//                  free: defer, no attempt counted); a record's pending
//                  record -> 'anchoring'. sweep / split: the inputs were
//                  locked with the job when it was written; none held means
//                  the job fails (there is nothing to lock).
//   inputs_locked  build the transaction from the locked UTXOs (record: data
//                  output + change; anchor: OP_FALSE OP_RETURN
//                  "PatchProofBatch" <root> + change; sweep: one change
//                  output; split: N x S to the change script + change), one
//                  KMS call signs every input; raw hex and txid are stored
//                  BEFORE any broadcast (inputs no longer enough: unlock,
//                  back to queued; a sweep or split fails instead).
//   signed         broadcast the stored bytes, never rebuilt; a refusal
//                  (an "already known" one included) counts as sent only
//                  when the chain knows the txid (GET tx/hash).
//   broadcast      one DB transaction: UTXOs spent, every output paying the
//                  change script into the pool, and, for a record
//                  (store::confirm_anchor), patch state and history written,
//                  pending record (and POS intent) confirmed; for the other
//                  kinds (store::confirm_maintenance) an anchor's batch
//                  anchored; done.
//
// Every multi-statement write is one store::with_txn: after a deadlock, a
// lock-wait timeout or a refused COMMIT it is re-run whole, never continued.
//
// Failures are values: network errors, 5xx and rejections count an attempt
// and retry after JOB_BACKOFF_MS·2^attempts; after JOB_MAX_ATTEMPTS the
// job is failed with a short reason (with its pending record, or an
// anchor's batch, whose records are free again); each of its UTXOs goes back
// to 'available' only when GET address/{addr}/unspent lists it, otherwise
// it is 'quarantined' with the reason and never selected again —
// except that a signed transaction is never abandoned while the chain
// cannot say whether it has it, and a broadcast job is never failed (its
// transaction is on chain; only the bookkeeping is left, retried until the
// DB takes it). MariaDB, KMS or chain outages are logged and backed off;
// the process never exits for them.
//
// Signals: SIGTERM/SIGINT finish the current step, release the lease
// (next attempt now) and make run() return 0.
//
// Test hook (only when PATCHPROOF_ENV=test): PP_TEST_CRASH_AFTER_STEP=<step>
// with step one of inputs_locked | signed | broadcast | done makes the worker
// raise SIGKILL on itself right after that step is durably stored, so the
// step is in the DB and nothing after it ran. Any other value is refused at
// start-up. Outside the test environment the variable is ignored.
//
// Logs: one JSON line per step (job_id, kind, pending_id for a record,
// step, txid when known);
// never a raw transaction, a signature or a credential.
//
// The code is split by step: see worker/runner.h.
//
// Ownership and threads: a Worker borrows the Config for its lifetime and
// owns its Db, KMS and chain clients. Single-threaded; one per process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "config/config.h"
#include "store/jobs.h"

namespace pp::worker {

struct WorkerOptions {
    std::string id;     // lease owner; empty: "<hostname>:<pid>"
    bool once = false;  // exit 0 as soon as no job is ready
};

// The crash step requested by PP_TEST_CRASH_AFTER_STEP (value passed in,
// a step's text as store/jobs.h maps it), or nullopt when the hook is off
// (not the test environment, or unset). invalid_argument for anything but
// inputs_locked, signed, broadcast or done.
Result<std::optional<store::JobStep>> crash_step_from_env(config::Env env, const char *value);

// JOB_BACKOFF_MS·2^attempts, capped at one hour (and the shift at 2^20).
int64_t backoff_delay_ms(int64_t base_ms, uint32_t attempts) noexcept;

// hex SHA-256 of the sorted-key compact canonical JSON of `record_json`;
// bad_json if it is not a JSON object canonical_json accepts.
Result<std::string> record_hash_hex(std::string_view record_json);

// Installs the SIGTERM/SIGINT handlers (flag only; no SA_RESTART, so sleeps
// end early).
void install_signal_handlers();
bool stop_requested() noexcept;

// Runs the claim loop until a stop is requested (or, with once, until no job
// is ready). Returns the process exit code: 0 on a clean stop, 1 for a
// configuration error found at start (named in one log line).
int run(const config::Config &cfg, const WorkerOptions &opt);

}  // namespace pp::worker

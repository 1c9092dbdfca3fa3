// SPDX-License-Identifier: MIT
// The one way to run a MariaDB transaction.
//
//   auto r = store::with_txn(db, [&](store::Txn &t) -> Result<Out> {
//       ... t.db().execute(...) ...   // any error: return it
//       return out;                   // with_txn commits
//   });
//
// Txn is RAII: it rolls back in its destructor unless commit() succeeded, on
// every path. with_txn(db, fn) begins, runs fn, and commits when fn returned a
// value. When the server aborts the transaction (Errc::deadlock: a deadlock,
// a lock-wait timeout, or a Galera certification failure at COMMIT) it rolls
// back and runs fn again from its start, with backoff, up to
// TxnRetry::attempts times; it never continues a transaction half done. A
// connection lost before COMMIT (Errc::unavailable: the server rolled back
// with the session, e.g. after a restart) is re-run once on a new
// connection; one lost at COMMIT is returned, as its outcome is unknown. Any
// other error rolls back and is returned as it is.
//
// So fn must be safe to re-run: it reads what it needs inside the
// transaction, and does nothing outside MariaDB (no KMS, chain or memcached
// call, no log line that claims success) that a second run would repeat.
// State fn builds up for the caller is reset at its start.
//
// Ownership and threads: a Txn borrows its Db for its lifetime; both are
// single-threaded, one per process (store/db.h).
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

#include "common/result.h"
#include "store/db.h"

namespace pp::store {

class [[nodiscard]] Txn {
public:
    // START TRANSACTION; the Errc of Db::begin() on failure.
    static Result<Txn> begin(Db &db);

    Txn(Txn &&other) noexcept : db_(other.db_), open_(std::exchange(other.open_, false)) {}
    Txn &operator=(Txn &&) = delete;
    Txn(const Txn &) = delete;
    Txn &operator=(const Txn &) = delete;
    ~Txn();

    // COMMIT. Errc::deadlock: the server refused it and rolled back (re-run);
    // Errc::unavailable: the connection was lost, the outcome is unknown to
    // this call (callers that must know read their own writes back).
    Result<void> commit();
    // Rolls back now instead of at destruction (idempotent).
    void rollback() noexcept;

    Db &db() noexcept { return db_; }
    bool open() const noexcept { return open_; }

private:
    explicit Txn(Db &db) noexcept : db_(db), open_(true) {}

    Db &db_;
    bool open_;
};

struct TxnRetry {
    unsigned attempts = 6;          // runs of fn in all, the first included
    unsigned first_backoff_ms = 5;  // doubled each retry, plus up to as much jitter
    unsigned max_backoff_ms = 500;
};

namespace detail {
void txn_backoff(const TxnRetry &retry, unsigned attempt) noexcept;
void txn_note_retry() noexcept;
}  // namespace detail

// Runs fn(Txn&) -> Result<T> in a transaction as described above. Returns
// fn's value once committed, or the error that ended it (Errc::deadlock when
// every attempt was aborted).
template <typename Fn>
auto with_txn(Db &db, Fn &&fn, TxnRetry retry = {}) -> std::invoke_result_t<Fn &, Txn &>
{
    using R = std::invoke_result_t<Fn &, Txn &>;
    Errc last = Errc::deadlock;
    bool reconnected = false;
    // A lost connection before COMMIT means the server rolled back: one
    // more run on a new connection is as safe as a deadlock's re-run.
    auto rerun = [&](Errc e) {
        if (e == Errc::deadlock) return true;
        if (e != Errc::unavailable || reconnected) return false;
        reconnected = true;
        return true;
    };
    for (unsigned attempt = 0; attempt < retry.attempts; ++attempt) {
        if (attempt > 0) {
            detail::txn_note_retry();
            detail::txn_backoff(retry, attempt);
        }
        auto txn = Txn::begin(db);
        if (!txn) {
            last = txn.error();
            if (rerun(last)) continue;
            return R(last);
        }
        R r = fn(*txn);
        if (!r) {
            last = r.error();
            txn->rollback();
            if (rerun(last)) continue;
            return r;
        }
        if (auto c = txn->commit(); !c) {
            last = c.error();
            if (last == Errc::deadlock) continue;
            return R(last);
        }
        return r;
    }
    return R(last);
}

// Transactions re-run after Errc::deadlock in this process since it started
// (for logs, metrics and tests).
uint64_t txn_retries() noexcept;

}  // namespace pp::store

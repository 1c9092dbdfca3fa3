// SPDX-License-Identifier: MIT
#include "store/txn.h"

#include <sodium.h>

#include <algorithm>
#include <ctime>

namespace pp::store {

namespace {
// Per process (each worker owns its own after fork); only ever counted up.
uint64_t g_retries = 0;
}  // namespace

Result<Txn> Txn::begin(Db &db)
{
    if (auto r = db.begin(); !r) return r.error();
    return Txn(db);
}

Txn::~Txn()
{
    rollback();
}

Result<void> Txn::commit()
{
    if (!open_) return Errc::invalid_argument;
    auto r = db_.commit();
    // A refused COMMIT rolled back on the server; a lost one may have
    // committed. Either way nothing is left open on this connection.
    if (r || r.error() == Errc::deadlock) open_ = false;
    return r;
}

void Txn::rollback() noexcept
{
    if (!open_) return;
    open_ = false;
    (void)db_.rollback();
}

namespace detail {

void txn_backoff(const TxnRetry &retry, unsigned attempt) noexcept
{
    const unsigned shift = std::min(attempt - 1, 16u);
    uint64_t ms = std::min<uint64_t>(uint64_t{retry.first_backoff_ms} << shift, retry.max_backoff_ms);
    // Jitter, so two transactions that deadlocked on each other do not
    // collide again in lock step.
    if (ms > 0) ms += randombytes_uniform(static_cast<uint32_t>(ms) + 1);
    timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

void txn_note_retry() noexcept
{
    ++g_retries;
}

}  // namespace detail

uint64_t txn_retries() noexcept
{
    return g_retries;
}

}  // namespace pp::store

// SPDX-License-Identifier: MIT
#include "admin/run.h"

#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <utility>

#include "common/clock.h"
#include "crypto/encoding.h"

namespace pp::admin {

namespace {

constexpr auto kPoll = std::chrono::milliseconds(100);

}  // namespace

int64_t now_sec() { return wall_sec(); }

std::string holder_name()
{
    char host[64] = {};
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    uint8_t nonce[8];
    randombytes_buf(nonce, sizeof nonce);
    return std::string(host) + ":" + std::to_string(getpid()) + ":" + crypto::hex_encode(nonce);
}

LeaseRun::LeaseRun(store::Db &db, store::Lease lease, int64_t ttl_sec, int64_t renewed_at)
    : db_(&db), lease_(std::move(lease)), ttl_sec_(ttl_sec), renewed_at_(renewed_at)
{
}

LeaseRun::LeaseRun(LeaseRun &&other) noexcept
    : db_(other.db_), lease_(std::move(other.lease_)), ttl_sec_(other.ttl_sec_), renewed_at_(other.renewed_at_),
      held_(other.held_)
{
    other.held_ = false;
}

LeaseRun::~LeaseRun()
{
    if (held_)
        (void)store::release_lease(*db_, lease_);  // else it expires
}

Result<LeaseRun> LeaseRun::begin(store::Db &db, std::string_view name, std::vector<store::JobKind> kinds,
                                 int64_t ttl_sec)
{
    const int64_t now = now_sec();
    auto lease = store::acquire_lease(db, name, holder_name(), now, ttl_sec);
    if (!lease)
        return lease.error();
    LeaseRun run(db, std::move(*lease), ttl_sec, now);
    for (store::JobKind k : kinds) {
        auto open = store::unfinished_jobs(db, k);
        if (!open)
            return open.error();  // the destructor releases the lease
        if (*open > 0)
            return Errc::conflict;
    }
    return run;
}

Result<void> LeaseRun::keep()
{
    const int64_t now = now_sec();
    if ((now - renewed_at_) * 3 < ttl_sec_)
        return {};
    auto r = store::renew_lease(*db_, lease_, now, ttl_sec_);
    if (!r) {
        if (r.error() == Errc::conflict)
            held_ = false;  // not ours any more: never release another's
        return r;
    }
    renewed_at_ = now;
    return {};
}

Result<WaitOutcome> wait_signed(store::Db &db, LeaseRun &run, const std::vector<uint64_t> &job_ids,
                                int64_t wait_sec)
{
    const int64_t deadline = wall_ms() + wait_sec * 1000;
    WaitOutcome out;
    for (;;) {
        out.jobs.clear();
        bool all = true;
        for (uint64_t id : job_ids) {
            auto st = store::job_status(db, id);
            if (!st)
                return st.error();
            if (!*st)
                return Errc::internal;  // we wrote it: it cannot vanish
            JobOutcome o;
            o.job_id = id;
            o.txid = (*st)->txid;
            o.failed = (*st)->step == store::JobStep::failed;
            o.error = (*st)->last_error;
            all = all && (o.txid || o.failed);
            out.jobs.push_back(std::move(o));
        }
        out.all_signed = all;
        if (all || wall_ms() >= deadline)
            return out;
        if (auto k = run.keep(); !k)
            return k.error();
        std::this_thread::sleep_for(kPoll);
    }
}

}  // namespace pp::admin

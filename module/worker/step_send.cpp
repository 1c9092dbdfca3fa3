// SPDX-License-Identifier: MIT
// Step signed → broadcast: the stored bytes sent, never rebuilt. A refusal
// counts as sent only when the chain knows the txid (GET tx/hash).
#include <string>

#include "common/json.h"
#include "worker/runner.h"

namespace pp::worker::detail {

Next Worker::step_signed(store::Job &job)
{
    if (!job.raw_tx || !job.txid)
        return back_to_queued(job, "signed job without a stored transaction");
    std::string node_reason;
    auto sent = chain_.broadcast(*job.raw_tx, &node_reason);
    if (!sent) {
        if (sent.error() == Errc::unavailable)
            return service_outage(job, "chain unavailable");
        if (sent.error() != Errc::conflict)
            return attempt_failed(job, "chain error");
        // A rejection may be our own transaction already mined or in the
        // mempool (e.g. "inputs spent"): ask for it by txid before counting.
        auto known = chain_.tx(*job.txid);
        if (!known) {
            if (known.error() == Errc::unavailable)
                return service_outage(job, "chain unavailable");
            JsonPtr f(json_pack("{s:I,s:s}", "job_id", static_cast<json_int_t>(job.id), "node_reason",
                                node_reason.substr(0, 200).c_str()));
            log::warn("chain rejected the transaction", f.get());
            return attempt_failed(job, "chain rejected the transaction");
        }
    } else if (*sent != *job.txid) {
        log_step(job, "chain answered another txid; keeping ours", log::Level::warn);
    }
    outage_streak_ = 0;
    store::Job copy = job;
    auto r = store::advance_job(db_, copy, store::JobStep::broadcast, std::nullopt, std::nullopt, lease_until());
    if (!r)
        return write_failed(job, r.error(), "storing broadcast");
    return stored(job, std::move(copy));
}

}  // namespace pp::worker::detail

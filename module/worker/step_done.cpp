// SPDX-License-Identifier: MIT
// Step broadcast → done: the final transaction (store::confirm_anchor for a
// record, store::confirm_maintenance for the other kinds, kinds.cpp),
// re-run whole by store::with_txn on a deadlock.
#include <jansson.h>

#include "common/json.h"
#include "crypto/encoding.h"
#include "crypto/tx.h"
#include "store/anchor.h"
#include "worker/runner.h"
#include "worker/worker.h"

namespace pp::worker::detail {

Next Worker::step_broadcast(store::Job &job)
{
    if (!job.raw_tx || !job.txid)
        return attempt_failed(job, "broadcast job without a stored transaction");
    auto raw = crypto::hex_decode(*job.raw_tx);
    if (!raw)
        return attempt_failed(job, "stored transaction is not hex");
    auto tx = crypto::parse_tx(*raw);
    if (!tx)
        return attempt_failed(job, "stored transaction does not parse");
    if (job.job_kind != store::JobKind::record)
        return confirm_planned(job, *tx);
    auto hash = record_hash_hex(job.record);
    if (!hash)
        return attempt_failed(job, "record is not valid JSON");
    JsonPtr rec(json_loadb(job.record.data(), job.record.size(), 0, nullptr));
    const char *owner = json_string_value(json_object_get(json_object_get(rec.get(), "auth"), "owner"));
    if (!owner)
        return attempt_failed(job, "record has no auth.owner");

    store::Anchor a;
    a.record_hash = std::move(*hash);
    a.owner_address = owner;
    a.change_key_id = cfg_.utxo_change_key_id;
    a.now_ms = now_ms();
    for (size_t vout = 0; vout < tx->outputs.size(); ++vout) {
        const crypto::TxOut &out = tx->outputs[vout];
        if (out.script == change_script_)
            a.change.push_back({static_cast<uint32_t>(vout), out.satoshis, crypto::hex_encode(out.script)});
    }

    store::Job copy = job;
    auto r = store::confirm_anchor(db_, copy, a);
    if (!r)
        return write_failed(job, r.error(), "the final transaction");
    if (!r->refused.empty())
        log_step(copy, "record anchored but refused by the patch state", log::Level::error, r->refused);
    return stored(job, std::move(copy));
}

}  // namespace pp::worker::detail

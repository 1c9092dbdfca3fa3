// SPDX-License-Identifier: MIT
// What differs between job kinds (store/jobs.h JobKind): the transaction a
// job's plan asks for, and the final and failure transactions of the jobs
// without a pending record (sweep, split, anchor).
#include <jansson.h>

#include <string>
#include <string_view>
#include <utility>

#include "common/json.h"
#include "crypto/encoding.h"
#include "crypto/tx.h"
#include "store/anchor.h"
#include "worker/runner.h"

namespace pp::worker::detail {

namespace {

// A split's outputs per transaction, whatever the plan says: far above
// MAX_SPLIT_OUTPUTS, only there so a corrupt plan cannot build a huge tx.
constexpr json_int_t kMaxSplitOutputs = 1000;
// The tag pushed before a batch's Merkle root (DESIGN.md §3 batch-anchor).
constexpr std::string_view kBatchTag = "PatchProofBatch";

JsonPtr payload_object(const store::Job &job)
{
    JsonPtr root(json_loadb(job.payload.data(), job.payload.size(), JSON_REJECT_DUPLICATES, nullptr));
    if (!root || !json_is_object(root.get()))
        return JsonPtr();
    return root;
}

// {"outputs":N,"satoshis":S}: N outputs of S to the change script.
Result<std::vector<uint64_t>> split_outputs(const store::Job &job)
{
    JsonPtr root = payload_object(job);
    const json_t *n = json_object_get(root.get(), "outputs");
    const json_t *s = json_object_get(root.get(), "satoshis");
    if (!json_is_integer(n) || !json_is_integer(s))
        return Errc::invalid_argument;
    const json_int_t count = json_integer_value(n), sats = json_integer_value(s);
    if (count < 1 || count > kMaxSplitOutputs || sats < static_cast<json_int_t>(chain::kDustLimit) ||
        static_cast<uint64_t>(sats) > crypto::MAX_MONEY / static_cast<uint64_t>(count))
        return Errc::invalid_argument;
    return std::vector<uint64_t>(static_cast<size_t>(count), static_cast<uint64_t>(sats));
}

// {"batchId":B,"merkleRoot":"hex"}: the 32 raw bytes of the root.
Result<Bytes> anchor_root(const store::Job &job)
{
    JsonPtr root = payload_object(job);
    const json_t *batch = json_object_get(root.get(), "batchId");
    const char *hex = json_string_value(json_object_get(root.get(), "merkleRoot"));
    if (!json_is_integer(batch) || json_integer_value(batch) < 1 || !hex)
        return Errc::invalid_argument;
    auto bytes = crypto::hex_decode(hex);
    if (!bytes || bytes->size() != 32)
        return Errc::invalid_argument;
    return std::move(*bytes);
}

}  // namespace

bool Worker::inputs_planned(const store::Job &job)
{
    return job.job_kind == store::JobKind::sweep || job.job_kind == store::JobKind::split;
}

Result<chain::BuildParams> Worker::plan_params(const store::Job &job)
{
    chain::BuildParams p;
    p.change_script = change_script_;
    switch (job.job_kind) {
    case store::JobKind::record:
        p.data_pushes.emplace_back(job.record.begin(), job.record.end());
        break;
    case store::JobKind::anchor: {
        auto root = anchor_root(job);
        if (!root)
            return root.error();
        p.data_pushes.emplace_back(kBatchTag.begin(), kBatchTag.end());
        p.data_pushes.push_back(std::move(*root));
        break;
    }
    case store::JobKind::split: {
        auto outs = split_outputs(job);
        if (!outs)
            return outs.error();
        p.data_output = false;
        p.fixed_outputs = std::move(*outs);
        break;
    }
    case store::JobKind::sweep:
        if (!payload_object(job))
            return Errc::invalid_argument;
        p.data_output = false;
        break;
    }
    return p;
}

// The final transaction of a sweep, split or anchor job: every output that
// pays the change script goes back into the pool.
Next Worker::confirm_planned(store::Job &job, const crypto::Tx &tx)
{
    store::Maintenance m;
    m.change_key_id = cfg_.utxo_change_key_id;
    for (size_t vout = 0; vout < tx.outputs.size(); ++vout) {
        const crypto::TxOut &out = tx.outputs[vout];
        if (out.script == change_script_)
            m.outputs.push_back({static_cast<uint32_t>(vout), out.satoshis, crypto::hex_encode(out.script)});
    }
    store::Job copy = job;
    auto r = store::confirm_maintenance(db_, copy, m);
    if (!r)
        return write_failed(job, r.error(), "the final transaction");
    if (r->batch_missing)
        log_step(copy, "anchor transaction done but its job has no pending batch", log::Level::error);
    return stored(job, std::move(copy));
}

}  // namespace pp::worker::detail

// SPDX-License-Identifier: MIT
#include "admin/anchor.h"

#include <string>
#include <utility>

#include "admin/run.h"
#include "common/json.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "log/log.h"
#include "store/jobs.h"
#include "store/txn.h"

namespace pp::admin {

namespace {

std::string path_json(const std::vector<crypto::MerkleStep> &path)
{
    std::string out = "[";
    for (const crypto::MerkleStep &s : path) {
        if (out.size() > 1)
            out += ',';
        out += "{\"hash\":\"" + crypto::hex_encode(s.hash) + "\",\"side\":\"";
        out += crypto::side_name(s.side);
        out += "\"}";
    }
    out += ']';
    return out;
}

void log_batch(const store::WrittenBatch &w, const std::string &root)
{
    JsonPtr f(json_pack("{s:I,s:I,s:i,s:s}", "batch_id", json_int_t(w.batch_id), "job_id", json_int_t(w.job_id),
                        "leaves", static_cast<int>(w.updated), "merkle_root", root.c_str()));
    log::info("anchor batch queued", f.get());
}

}  // namespace

Result<store::NewBatch> plan_batch(const std::vector<store::UnbatchedRecord> &records)
{
    if (records.empty())
        return Errc::invalid_argument;
    std::vector<crypto::Hash256> leaves(records.size());
    for (size_t i = 0; i < records.size(); ++i)
        if (!crypto::hex_decode_into(leaves[i], records[i].record_hash))
            return Errc::invalid_argument;
    auto root = crypto::merkle_root(leaves);
    if (!root)
        return root.error();
    store::NewBatch batch;
    batch.merkle_root = crypto::hex_encode(*root);
    batch.leaves.reserve(records.size());
    auto paths = crypto::merkle_all_paths(leaves);  // one pass, not one tree per leaf
    if (!paths)
        return paths.error();
    for (size_t i = 0; i < records.size(); ++i) {
        const std::vector<crypto::MerkleStep> &path = (*paths)[i];
        // Cheap, and what a client will do: never store a path that does not lead to the root.
        if (!crypto::merkle_verify(leaves[i], path, *root))
            return Errc::internal;
        batch.leaves.push_back({records[i].txid, path_json(path)});
    }
    return batch;
}

Result<AnchorOutcome> batch_anchor(store::Db &db, const AnchorOptions &opt)
{
    if (opt.limit < 1 || opt.limit > kAnchorMaxLimit)
        return Errc::invalid_argument;
    auto run = LeaseRun::begin(db, kAnchorLease, {store::JobKind::anchor}, opt.lease_sec);
    if (!run)
        return run.error();
    auto records = store::oldest_unbatched(db, static_cast<uint32_t>(opt.limit));
    if (!records)
        return records.error();
    AnchorOutcome out;
    if (records->empty())
        return out;
    auto batch = plan_batch(*records);
    if (!batch)
        return batch.error();
    if (auto k = run->keep(); !k)  // a tree of 1000 leaves takes a moment
        return k.error();
    // One transaction: a record guard that fails abandons all of it.
    auto written = store::with_txn(db, [&](store::Txn &txn) { return store::write_batch(txn.db(), *batch); });
    if (!written)
        return written.error();
    log_batch(*written, batch->merkle_root);
    out.job_id = written->job_id;
    out.processed = static_cast<uint32_t>(batch->leaves.size());
    out.updated = written->updated;
    auto waited = wait_signed(db, *run, {written->job_id}, opt.wait_sec);
    if (!waited) {
        // The batch and its job are written whatever happened to the wait
        // (lease lost, MariaDB away): report them as not signed yet.
        JsonPtr f(json_pack("{s:I,s:s}", "job_id", json_int_t(written->job_id), "error",
                            std::string(errc_name(waited.error())).c_str()));
        log::warn("anchor batch queued; waiting for its signature failed", f.get());
        out.state = AnchorState::waiting;
        return out;
    }
    const JobOutcome &job = waited->jobs.at(0);
    if (job.failed) {
        out.state = AnchorState::failed;  // no txid: that transaction anchors nothing
        out.error = job.error.value_or("the anchor job failed");
    } else {
        out.txid = job.txid;
        out.state = waited->all_signed ? AnchorState::signed_tx : AnchorState::waiting;
    }
    return out;
}

json_t *anchor_outcome_json(const AnchorOutcome &o)
{
    json_t *job = o.job_id ? json_integer(json_int_t(*o.job_id)) : json_null();
    json_t *body = json_pack("{s:b,s:o,s:o,s:I,s:I}", "success", o.state != AnchorState::failed, "txid",
                             json_string_or_null(o.txid), "jobId", job, "processed", json_int_t(o.processed),
                             "updated", json_int_t(o.updated));
    if (body && o.state == AnchorState::failed)
        json_object_set_new(body, "error", json_string(o.error.value_or("the anchor job failed").c_str()));
    return body;
}

}  // namespace pp::admin

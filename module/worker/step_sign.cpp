// SPDX-License-Identifier: MIT
// Step inputs_locked → signed: the transaction built from the locked UTXOs,
// every input signed in one KMS call, raw bytes and txid stored BEFORE any
// broadcast.
#include <vector>

#include "chain/txbuilder.h"
#include "crypto/encoding.h"
#include "crypto/tx.h"
#include "store/anchor.h"
#include "worker/runner.h"

namespace pp::worker::detail {

Next Worker::step_inputs_locked(store::Job &job)
{
    auto utxos = pool_.locked_by(job.id);
    if (!utxos)
        return db_trouble(job, utxos.error(), "reading locked utxos");
    if (utxos->empty())  // reaped while we were away (a planned job fails in back_to_queued)
        return back_to_queued(job, "funding inputs were released");
    auto planned = plan_params(job);
    if (!planned)
        return fail_job(job, "the job's plan is malformed");

    std::vector<chain::FundingInput> inputs;
    inputs.reserve(utxos->size());
    for (const store::Utxo &u : *utxos) {
        auto script = crypto::hex_decode(u.script_hex);
        if (!script)
            return attempt_failed(job, "a funding utxo has a malformed script");
        inputs.push_back({u.id, u.txid, u.vout, u.satoshis, u.key_id, std::move(*script)});
    }

    chain::BuildParams &params = *planned;
    params.inputs = inputs;
    params.fee_per_kb = fee_per_kb();
    auto utx = chain::build_unsigned(params);
    if (!utx) {
        // A planned job cannot take other inputs: back_to_queued fails it.
        if (utx.error() == Errc::out_of_range)
            return back_to_queued(job, "inputs no longer cover the fee");
        return attempt_failed(job, "cannot build the transaction");
    }

    // One KMS call with every input's sighash.
    std::vector<kms::SignRequest> requests;
    requests.reserve(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i)
        requests.push_back({inputs[i].key_id, utx->sighashes[i]});
    auto sigs = kms_.sign(requests);
    if (!sigs)
        return sigs.error() == Errc::unavailable ? service_outage(job, "kms unavailable")
                                                 : attempt_failed(job, "kms refused to sign");
    outage_streak_ = 0;
    auto raw = chain::attach_signatures(*utx, inputs, *sigs);
    if (!raw)
        return attempt_failed(job, "kms signatures do not match the inputs");
    auto parsed = crypto::parse_tx(*raw);
    if (!parsed)
        return attempt_failed(job, "built transaction does not parse");
    const std::string txid = crypto::txid_hex(*parsed);

    // From here on the job only ever sends these bytes, provided no reaper
    // freed an input while we were signing.
    std::vector<uint64_t> input_ids;
    input_ids.reserve(inputs.size());
    for (const chain::FundingInput &in : inputs)
        input_ids.push_back(in.utxo_id);
    store::Job copy = job;
    auto r = store::store_signed(db_, copy, input_ids, crypto::hex_encode(*raw), txid, lease_until());
    if (!r && r.error() == Errc::not_found)
        return back_to_queued(job, "funding inputs were released while signing");
    if (!r)
        return write_failed(job, r.error(), "storing signed");
    return stored(job, std::move(copy));
}

}  // namespace pp::worker::detail

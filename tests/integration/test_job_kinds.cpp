// SPDX-License-Identifier: MIT
// Jobs without a pending record (store/jobs.h JobKind: sweep, split, anchor)
// against a REAL private mariadbd with the migrations applied: they are
// claimed like record jobs with their kind and plan; their step to
// inputs_locked touches no pending record; their final transaction
// (store::confirm_maintenance) spends the inputs, puts every change output
// in the pool and anchors an anchor job's batch, all or nothing; their
// failure transaction (store::fail_maintenance) releases or quarantines the
// inputs by what the chain listed and fails an anchor's batch, freeing its
// records. (Record jobs: test_jobs.cpp.)
#include <signal.h>

#include <ios>  // before cmocka's fail() macro
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "vectors.h"  // cmocka includes

#include "fixture.h"
#include "jobs_support.h"
#include "store/anchor.h"
#include "store/db.h"
#include "store/jobs.h"
#include "store/pending.h"
#include "store/txn.h"
#include "store/utxo_pool.h"

using namespace pp;
using namespace pp::store;

namespace {

using pp::test::connect_app;
using pp::test::assert_none;
using pp::test::claim_some;
using pp::test::enqueue_one;
using pp::test::group_teardown;
using pp::test::kLease;

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr const char *kKey = "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5";
const std::string kScript = "76a914" + std::string(40, '1') + "88ac";
const std::string kChangeKey = "03" + std::string(64, '7');

int group_setup(void **) { return test::setup_migrated("/tmp/pp-kinds-XXXXXX", "pp_kinds") ? 0 : -1; }

int clean(void **)
{
    Db db = connect_app();
    for (const char *sql : {"DELETE FROM jobs", "DELETE FROM pending_records", "DELETE FROM utxos",
                            "DELETE FROM records", "DELETE FROM anchor_batches"})
        if (!db.execute(sql)) return -1;
    return 0;
}

std::string one(Db &db, const std::string &sql, std::initializer_list<Param> params)
{
    auto rows = db.query(sql, params);
    assert_true(rows.ok());
    assert_int_equal(rows->size(), 1);
    return (*rows)[0][0].value_or("NULL");
}

// Sweep, split and anchor jobs are claimed like record jobs, in id order,
// with their kind and plan and no pending record; a record job between them
// is claimed as before. A plan that is missing is the worker's to fail.
void claim_returns_every_kind(void **)
{
    Db db = connect_app();
    UtxoPool pool(db);
    auto in = pool.add(std::string(64, 'b'), 0, 5000, kKey, kScript, "available");
    assert_true(in.ok());
    auto u = pool.find(std::string(64, 'b'), 0);
    assert_true(u.ok() && u->has_value());
    uint64_t sweep = 0;
    auto w = with_txn(db, [&](Txn &t) -> Result<void> {  // as the maintenance planner writes it
        auto id = insert_job(t.db(), JobKind::sweep, "{}");
        if (!id) return id.error();
        sweep = *id;
        auto ok = UtxoPool(t.db()).lock_exact(sweep, {**u}, kT0);
        if (!ok) return ok.error();
        return *ok ? Result<void>() : Result<void>(Errc::conflict);
    });
    assert_true(w.ok());
    const uint64_t rec = enqueue_one(db, "uid-kinds");
    const std::string split_plan = "{\"outputs\":3,\"satoshis\":1000}";
    const std::string anchor_plan = "{\"batchId\":7,\"merkleRoot\":\"" + std::string(64, 'f') + "\"}";
    auto split = insert_job(db, JobKind::split, split_plan);
    auto anchor = insert_job(db, JobKind::anchor, anchor_plan);
    assert_true(split.ok() && anchor.ok());
    assert_true(db.execute("INSERT INTO jobs (kind) VALUES ('sweep')").ok());  // no plan at all
    assert_errc(insert_job(db, JobKind::record, "{}"), Errc::invalid_argument);

    const std::vector<std::pair<uint64_t, JobKind>> order{
        {sweep, JobKind::sweep}, {rec, JobKind::record}, {*split, JobKind::split}, {*anchor, JobKind::anchor}};
    const std::vector<std::string> plans{"{}", "", split_plan, anchor_plan};
    for (size_t i = 0; i < order.size(); ++i) {
        Job j = claim_some(db, "w", kT0);
        assert_int_equal(j.id, order[i].first);
        assert_true(j.job_kind == order[i].second);
        assert_string_equal(j.payload.c_str(), plans[i].c_str());
        assert_string_equal(std::string(job_step_text(j.step)).c_str(), "queued");
        const bool record = order[i].second == JobKind::record;
        assert_int_equal(j.pending_id.size(), record ? 32 : 0);
        assert_string_equal(j.kind.c_str(), record ? "registration" : "");
        assert_int_equal(j.record.empty(), !record);
    }
    Job bare = claim_some(db, "w", kT0);
    assert_true(bare.job_kind == JobKind::sweep && bare.payload.empty());
    assert_none(db, "w", kT0);

    auto held = pool.locked_by(sweep);
    assert_true(held.ok());
    assert_int_equal(held->size(), 1);
    auto st = job_status(db, *anchor);
    assert_true(st.ok() && st->has_value());
    assert_true((*st)->kind == JobKind::anchor);
    auto unfinished = unfinished_jobs(db, JobKind::sweep);
    assert_true(unfinished.ok());
    assert_int_equal(*unfinished, 2);
}


// A job of `kind` written with `inputs` pool outputs (of 10000 sats each)
// locked to it, claimed, and taken to 'broadcast' with txid; an anchor job
// also gets a pending batch holding `records` records. Returns the inputs.
std::vector<uint64_t> job_at_broadcast(Db &db, JobKind kind, Job &job, const std::string &txid, int inputs,
                                       int records = 0)
{
    UtxoPool pool(db);
    std::vector<Utxo> utxos;
    std::vector<uint64_t> ids;
    static int next_outpoint = 0;  // distinct outpoints across calls
    for (int i = 0; i < inputs; ++i) {
        const std::string n = std::to_string(next_outpoint++);
        const std::string prev = std::string(64 - n.size(), 'a') + n;
        auto in = pool.add(prev, 0, 10'000, kKey, kScript, "available");
        assert_true(in.ok());
        ids.push_back(*in);
        auto u = pool.find(prev, 0);
        assert_true(u.ok() && u->has_value());
        utxos.push_back(**u);
    }
    auto w = with_txn(db, [&](Txn &t) -> Result<void> {
        auto id = insert_job(t.db(), kind, kind == JobKind::anchor ? "{\"batchId\":1,\"merkleRoot\":\"00\"}" : "{}");
        if (!id) return id.error();
        if (kind == JobKind::anchor) {
            if (auto b = t.db().execute("INSERT INTO anchor_batches (merkle_root, leaf_count, job_id) VALUES (?, ?, ?)",
                                        {std::string_view(std::string(64, 'c')), int64_t{records}, int64_t(*id)});
                !b)
                return b.error();
            auto batch = t.db().last_insert_id();
            if (!batch) return batch.error();
            for (int r = 0; r < records; ++r) {
                const std::string rn = std::to_string(*batch) + "0" + std::to_string(r);
                const std::string rtx = std::string(64 - rn.size(), 'd') + rn;
                if (auto x = t.db().execute("INSERT INTO records (txid, uid_tag_id, kind, record, record_hash, "
                                            "confirmed_ms, batch_id, batch_index) VALUES (?, 'u', 'registration', "
                                            "'{}', ?, 0, ?, ?)",
                                            {std::string_view(rtx), std::string_view(std::string(64, 'e')),
                                             int64_t(*batch), int64_t{r}});
                    !x)
                    return x.error();
            }
            // The worker locks an anchor's inputs itself; here they stand for that.
        }
        auto ok = UtxoPool(t.db()).lock_exact(*id, utxos, kT0);
        if (!ok) return ok.error();
        return *ok ? Result<void>() : Result<void>(Errc::conflict);
    });
    assert_true(w.ok());
    job = claim_some(db, "w", kT0);
    assert_true(job.job_kind == kind);
    assert_true(mark_inputs_locked(db, job, kT0 + kLease).ok());
    assert_true(advance_job(db, job, JobStep::signed_tx, std::string("00"), txid, kT0 + kLease).ok());
    assert_true(advance_job(db, job, JobStep::broadcast, std::nullopt, std::nullopt, kT0 + kLease).ok());
    return ids;
}

Maintenance outputs(std::initializer_list<std::pair<uint32_t, uint64_t>> outs)
{
    Maintenance m;
    m.change_key_id = kChangeKey;
    for (const auto &[vout, sats] : outs) m.outputs.push_back({vout, sats, kScript});
    return m;
}

// inputs_locked without a pending record; a record job is refused by the
// maintenance functions and a job not at 'broadcast' cannot be confirmed.
void maintenance_steps_need_no_pending_record(void **)
{
    Db db = connect_app();
    Job job;
    job_at_broadcast(db, JobKind::sweep, job, std::string(64, '1'), 1);
    assert_string_equal(one(db, "SELECT step FROM jobs WHERE id = ?", {int64_t(job.id)}).c_str(), "broadcast");
    assert_string_equal(one(db, "SELECT COUNT(*) FROM pending_records", {}).c_str(), "0");

    enqueue_one(db, "uid-rec");
    Job rec = claim_some(db, "w", kT0);
    assert_true(rec.job_kind == JobKind::record);
    rec.txid = std::string(64, '2');
    rec.step = JobStep::broadcast;
    assert_errc(confirm_maintenance(db, rec, outputs({})), Errc::invalid_argument);
    assert_errc(fail_maintenance(db, rec, Failure{}), Errc::invalid_argument);
    Job early = job;
    early.step = JobStep::signed_tx;
    assert_errc(confirm_maintenance(db, early, outputs({})), Errc::invalid_argument);
}

// A split: both inputs spent by the txid, all four outputs available under
// the change key, the job done; a second run (a stale copy) writes nothing.
void confirm_split_puts_every_output_in_the_pool(void **)
{
    Db db = connect_app();
    const std::string txid(64, '3');
    Job job;
    auto ids = job_at_broadcast(db, JobKind::split, job, txid, 2);
    const Job stale = job;
    auto r = confirm_maintenance(db, job, outputs({{0, 4000}, {1, 4000}, {2, 4000}, {3, 7800}}));
    assert_true(r.ok());
    assert_false(r->batch_missing);
    assert_true(job.step == JobStep::done);
    assert_string_equal(one(db, "SELECT step FROM jobs WHERE id = ?", {int64_t(job.id)}).c_str(), "done");
    for (uint64_t id : ids)
        assert_string_equal(one(db, "SELECT CONCAT(status, ' ', spent_txid) FROM utxos WHERE id = ?", {int64_t(id)}).c_str(),
                            ("spent " + txid).c_str());
    assert_string_equal(one(db, "SELECT COUNT(*) FROM utxos WHERE txid = ? AND status = 'available' AND key_id = ?",
                            {std::string_view(txid), std::string_view(kChangeKey)}).c_str(),
                        "4");
    assert_string_equal(one(db, "SELECT SUM(satoshis) FROM utxos WHERE txid = ?", {std::string_view(txid)}).c_str(),
                        "19800");
    Job again = stale;
    assert_errc(confirm_maintenance(db, again, outputs({{0, 4000}})), Errc::conflict);
    assert_string_equal(one(db, "SELECT COUNT(*) FROM utxos WHERE txid = ?", {std::string_view(txid)}).c_str(), "4");
}

// An anchor: its batch anchored with the txid in the same transaction; an
// anchor job whose batch is not pending is done and says so.
void confirm_anchor_job_anchors_its_batch(void **)
{
    Db db = connect_app();
    const std::string txid(64, '4');
    Job job;
    job_at_broadcast(db, JobKind::anchor, job, txid, 1, 2);
    auto r = confirm_maintenance(db, job, outputs({{1, 9800}}));
    assert_true(r.ok());
    assert_false(r->batch_missing);
    assert_string_equal(one(db, "SELECT CONCAT(status, ' ', txid) FROM anchor_batches WHERE job_id = ?",
                            {int64_t(job.id)}).c_str(),
                        ("anchored " + txid).c_str());
    assert_string_equal(one(db, "SELECT COUNT(*) FROM records WHERE batch_id IS NOT NULL", {}).c_str(), "2");

    Job other;
    job_at_broadcast(db, JobKind::anchor, other, std::string(64, '5'), 1, 0);
    assert_true(db.execute("UPDATE anchor_batches SET status = 'failed' WHERE job_id = ?", {int64_t(other.id)}).ok());
    auto r2 = confirm_maintenance(db, other, outputs({}));
    assert_true(r2.ok());
    assert_true(r2->batch_missing);
    assert_true(other.step == JobStep::done);
}

// The failure: the input the chain listed goes back to available, the other
// is quarantined, an anchor's batch is failed and its records are free;
// attempts and reason recorded.
void fail_anchor_job_fails_its_batch(void **)
{
    Db db = connect_app();
    Job job;
    auto ids = job_at_broadcast(db, JobKind::anchor, job, std::string(64, '6'), 2, 3);
    Failure f;
    f.reason = "chain rejected the transaction";
    f.unspent = {ids[1]};
    f.now_ms = kT0;
    const uint32_t attempts = job.attempts;
    assert_true(fail_maintenance(db, job, f).ok());
    assert_true(job.step == JobStep::failed);
    assert_int_equal(job.attempts, attempts + 1);
    assert_string_equal(one(db, "SELECT CONCAT(step, ' ', last_error) FROM jobs WHERE id = ?", {int64_t(job.id)}).c_str(),
                        "failed chain rejected the transaction");
    assert_string_equal(one(db, "SELECT status FROM utxos WHERE id = ?", {int64_t(ids[0])}).c_str(), "quarantined");
    assert_string_equal(one(db, "SELECT status FROM utxos WHERE id = ?", {int64_t(ids[1])}).c_str(), "available");
    assert_string_equal(one(db, "SELECT status FROM anchor_batches WHERE job_id = ?", {int64_t(job.id)}).c_str(),
                        "failed");
    assert_string_equal(one(db, "SELECT COUNT(*) FROM records WHERE batch_id IS NULL AND batch_index IS NULL", {}).c_str(),
                        "3");
    assert_none(db, "w", kT0 + 10 * kLease);  // failed is never claimed
}

// A sweep's failure touches no batch (another job's pending batch stays).
void fail_sweep_leaves_batches_alone(void **)
{
    Db db = connect_app();
    Job anchor;
    job_at_broadcast(db, JobKind::anchor, anchor, std::string(64, '7'), 1, 1);
    Job sweep;
    job_at_broadcast(db, JobKind::sweep, sweep, std::string(64, '8'), 1);
    Failure f;
    f.reason = "inputs no longer cover the fee";
    f.now_ms = kT0;
    assert_true(fail_maintenance(db, sweep, f).ok());
    assert_string_equal(one(db, "SELECT status FROM anchor_batches WHERE job_id = ?", {int64_t(anchor.id)}).c_str(),
                        "pending");
    assert_string_equal(one(db, "SELECT COUNT(*) FROM records WHERE batch_id IS NOT NULL", {}).c_str(), "1");
}

}  // namespace

// Storing 'signed' checks, under row locks, that every input is still locked
// by the job: after a reaper freed one (its lease had run out) nothing is
// stored and the output stays free for others; with all inputs held the
// transaction and txid are stored.
void store_signed_needs_every_input_still_locked(void **)
{
    Db db = connect_app();
    UtxoPool pool(db);
    std::vector<Utxo> utxos;
    for (int i = 0; i < 2; ++i) {
        const std::string prev = std::string(63, 'b') + std::to_string(i);
        assert_true(pool.add(prev, 0, 10'000, kKey, kScript, "available").ok());
        auto u = pool.find(prev, 0);
        assert_true(u.ok() && u->has_value());
        utxos.push_back(**u);
    }
    auto w = with_txn(db, [&](Txn &t) -> Result<void> {
        auto id = insert_job(t.db(), JobKind::sweep, "{}");
        if (!id) return id.error();
        auto ok = UtxoPool(t.db()).lock_exact(*id, utxos, kT0);
        if (!ok) return ok.error();
        return *ok ? Result<void>() : Result<void>(Errc::conflict);
    });
    assert_true(w.ok());
    Job job = claim_some(db, "w", kT0);
    assert_true(mark_inputs_locked(db, job, kT0 + kLease).ok());
    const std::vector<uint64_t> ids{utxos[0].id, utxos[1].id};
    const std::string txid(64, '9');

    // The lease ran out and a reaper freed the locks while we were signing.
    auto freed = pool.reap(kT0 + 60 * 60'000, kT0 + 2 * kLease);
    assert_true(freed.ok());
    assert_int_equal(*freed, 2);
    Job copy = job;
    assert_errc(store_signed(db, copy, ids, "00", txid, kT0 + 3 * kLease), Errc::not_found);
    assert_string_equal(one(db, "SELECT CONCAT(step, ' ', COALESCE(txid, '-')) FROM jobs WHERE id = ?",
                            {int64_t(job.id)}).c_str(),
                        "inputs_locked -");

    // Locked again by the job, and its lease running: the reaper keeps them
    // and the signed transaction is stored.
    for (Utxo &u : utxos) {
        auto fresh = pool.find(u.txid, 0);
        assert_true(fresh.ok() && fresh->has_value());
        u = **fresh;
    }
    auto relock = UtxoPool(db).lock_exact(job.id, utxos, kT0);
    assert_true(relock.ok() && *relock);
    auto kept = pool.reap(kT0 + 60 * 60'000, kT0);
    assert_true(kept.ok());
    assert_int_equal(*kept, 0);
    assert_true(store_signed(db, job, ids, "00", txid, kT0 + kLease).ok());
    assert_true(job.step == JobStep::signed_tx);
    assert_string_equal(one(db, "SELECT CONCAT(step, ' ', txid) FROM jobs WHERE id = ?", {int64_t(job.id)}).c_str(),
                        ("signed " + txid).c_str());
}

int main()
{
    signal(SIGPIPE, SIG_IGN);
    const CMUnitTest tests[] = {
        cmocka_unit_test_setup(claim_returns_every_kind, clean),
        cmocka_unit_test_setup(maintenance_steps_need_no_pending_record, clean),
        cmocka_unit_test_setup(confirm_split_puts_every_output_in_the_pool, clean),
        cmocka_unit_test_setup(confirm_anchor_job_anchors_its_batch, clean),
        cmocka_unit_test_setup(fail_anchor_job_fails_its_batch, clean),
        cmocka_unit_test_setup(fail_sweep_leaves_batches_alone, clean),
        cmocka_unit_test_setup(store_signed_needs_every_input_still_locked, clean),
    };
    return cmocka_run_group_tests_name("job_kinds", tests, group_setup, group_teardown);
}

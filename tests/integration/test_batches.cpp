// SPDX-License-Identifier: MIT
// Batch anchoring's store (store/batches.h) and run (admin/anchor.h) against
// a REAL private mariadbd with the migrations applied: the oldest confirmed
// records not in a batch are selected (confirmation time, then txid; limit
// respected), a batch writes every path and its anchor job in one
// transaction, a record already in a batch abandons the whole transaction
// (also when a second process writes an overlapping batch at the same time),
// batch_anchored makes proofs appear, batch_failed frees the records for the
// next batch, and a run is refused while the lease is held or an anchor job
// is unfinished.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "admin/anchor.h"
#include "admin/run.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "fixture.h"
#include "store/batches.h"
#include "store/db.h"
#include "store/jobs.h"
#include "store/leases.h"
#include "store/patches.h"
#include "store/txn.h"
#include "vectors.h"  // cmocka includes, after every other header

using namespace pp;
using namespace pp::store;

namespace {

using pp::test::connect_app;
using pp::test::group_teardown;

int group_setup(void **) { return test::setup_migrated("/tmp/pp-batches-XXXXXX", "pp_batches") ? 0 : -1; }

int clean(void **)
{
    Db db = connect_app();
    for (const char *t : {"records", "anchor_batches", "jobs", "leases"})
        if (!db.execute(std::string("DELETE FROM ") + t))
            return -1;
    return 0;
}

// A txid made of one repeated hex digit pair, e.g. tx(0x0a) = "0a0a…".
std::string tx(int n)
{
    std::string s;
    char b[3];
    std::snprintf(b, sizeof b, "%02x", n & 0xff);
    for (int i = 0; i < 32; ++i)
        s += b;
    return s;
}

std::string hash_of(const std::string &txid)
{
    return crypto::hex_encode(crypto::sha256(crypto::as_bytes(txid)));
}

void add_record(Db &db, const std::string &txid, int64_t confirmed_ms)
{
    RecordRow r;
    r.txid = txid;
    r.uid_tag_id = "UID-" + txid.substr(0, 8);
    r.record = "{}";
    r.record_hash = hash_of(txid);
    r.confirmed_ms = confirmed_ms;
    assert_true(insert_record(db, r).ok());
}

std::string scalar(Db &db, const std::string &sql)
{
    auto rows = db.query(sql);
    assert_true(rows.ok());
    assert_int_equal(rows->size(), 1);
    return (*rows)[0][0] ? *(*rows)[0][0] : "NULL";
}

// Records tx(1) .. tx(n), confirmed 100 ms apart in that order.
void add_records(Db &db, int n)
{
    for (int i = 1; i <= n; ++i)
        add_record(db, tx(i), 100 * i);
}

NewBatch plan(Db &db, uint32_t limit)
{
    auto recs = oldest_unbatched(db, limit);
    assert_true(recs.ok());
    auto b = admin::plan_batch(*recs);
    assert_true(b.ok());
    return *b;
}

Result<WrittenBatch> commit_batch(Db &db, const NewBatch &b)
{
    return with_txn(db, [&](Txn &t) { return write_batch(t.db(), b); });
}

// ---- selection -------------------------------------------------------------

void selection_oldest_first_then_txid(void **)
{
    Db db = connect_app();
    add_record(db, tx(5), 3000);
    add_record(db, tx(2), 1000);
    add_record(db, tx(9), 2000);
    add_record(db, tx(1), 2000);  // same time as tx(9): txid decides
    add_record(db, tx(7), 500);
    auto all = oldest_unbatched(db, 100);
    assert_true(all.ok());
    const std::vector<std::string> want = {tx(7), tx(2), tx(1), tx(9), tx(5)};
    assert_int_equal(all->size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        assert_string_equal((*all)[i].txid.c_str(), want[i].c_str());
        assert_string_equal((*all)[i].record_hash.c_str(), hash_of(want[i]).c_str());
    }
    auto two = oldest_unbatched(db, 2);
    assert_true(two.ok());
    assert_int_equal(two->size(), 2);
    assert_string_equal((*two)[1].txid.c_str(), tx(2).c_str());
    // Records in a batch are not selected again.
    assert_true(db.execute("UPDATE records SET batch_id = 77 WHERE txid = ?", {tx(7)}).ok());
    auto rest = oldest_unbatched(db, 100);
    assert_true(rest.ok());
    assert_int_equal(rest->size(), 4);
    assert_string_equal((*rest)[0].txid.c_str(), tx(2).c_str());
}

// ---- writing a batch -------------------------------------------------------

void batch_writes_paths_and_job(void **)
{
    Db db = connect_app();
    add_records(db, 3);
    NewBatch b = plan(db, 100);
    auto w = commit_batch(db, b);
    assert_true(w.ok());
    assert_int_equal(w->updated, 3);
    const std::string bid = std::to_string(w->batch_id), jid = std::to_string(w->job_id);
    assert_string_equal(scalar(db, "SELECT CONCAT(merkle_root, ' ', leaf_count, ' ', status, ' ', job_id) "
                                   "FROM anchor_batches WHERE id = " + bid).c_str(),
                        (b.merkle_root + " 3 pending " + jid).c_str());
    assert_string_equal(scalar(db, "SELECT CONCAT(kind, ' ', step, ' ', payload) FROM jobs WHERE id = " + jid).c_str(),
                        ("anchor queued {\"batchId\":" + bid + ",\"merkleRoot\":\"" + b.merkle_root + "\"}").c_str());
    for (int i = 1; i <= 3; ++i) {
        const std::string row = scalar(db, "SELECT CONCAT(batch_id, ' ', batch_index, ' ', merkle_path) FROM records "
                                           "WHERE txid = '" + tx(i) + "'");
        assert_string_equal(row.c_str(), (bid + " " + std::to_string(i - 1) + " " + b.leaves[i - 1].path_json).c_str());
    }
    // Nothing left to batch; no proof before the chain accepted the batch.
    auto rest = oldest_unbatched(db, 100);
    assert_true(rest.ok() && rest->empty());
    auto p = find_proof(db, hash_of(tx(1)));
    assert_true(p.ok() && !*p);
    auto a = anchor_of_record(db, tx(1));
    assert_true(a.ok() && !*a);
    assert_errc(commit_batch(db, NewBatch{}), Errc::invalid_argument);
}

void record_in_a_batch_abandons_the_transaction(void **)
{
    Db db = connect_app();
    add_records(db, 4);
    NewBatch stale = plan(db, 100);  // all four
    // Meanwhile another run batched the oldest two.
    auto first = commit_batch(db, plan(db, 2));
    assert_true(first.ok());
    assert_errc(commit_batch(db, stale), Errc::conflict);
    // Nothing of the abandoned transaction stayed: one batch, one job, and
    // the two free records are still free.
    assert_string_equal(scalar(db, "SELECT COUNT(*) FROM anchor_batches").c_str(), "1");
    assert_string_equal(scalar(db, "SELECT COUNT(*) FROM jobs").c_str(), "1");
    assert_string_equal(scalar(db, "SELECT COUNT(*) FROM records WHERE batch_id IS NULL AND merkle_path IS NULL").c_str(),
                        "2");
    assert_string_equal(
        scalar(db, "SELECT COUNT(*) FROM records WHERE batch_id = " + std::to_string(first->batch_id)).c_str(), "2");
}

// Two "hosts" write overlapping batches at once: the second blocks on the
// first's row locks and, once the first committed, its guard matches nothing.
void concurrent_writers_one_wins(void **)
{
    Db db = connect_app();
    add_records(db, 5);
    NewBatch mine = plan(db, 3), theirs = plan(db, 5);
    auto txn = Txn::begin(db);
    assert_true(txn.ok());
    auto w = write_batch(txn->db(), mine);
    assert_true(w.ok());
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        close(go[0]);
        Db other = connect_app();
        const char c = 'x';
        if (write(go[1], &c, 1) != 1)
            _exit(5);
        auto r = with_txn(other, [&](Txn &t) { return write_batch(t.db(), theirs); });
        _exit(r.ok() ? 0 : r.error() == Errc::conflict ? 1 : 2);
    }
    close(go[1]);
    char c = 0;
    assert_int_equal(read(go[0], &c, 1), 1);
    close(go[0]);
    // Let the other writer reach our locks (its outcome does not depend on it).
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    assert_true(txn->commit().ok());
    int status = 0;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);  // conflict
    assert_string_equal(scalar(db, "SELECT COUNT(*) FROM anchor_batches").c_str(), "1");
    assert_string_equal(scalar(db, "SELECT COUNT(*) FROM records WHERE batch_id IS NOT NULL").c_str(), "3");
    assert_string_equal(scalar(db, "SELECT COUNT(*) FROM records WHERE batch_id IS NULL AND merkle_path IS NULL").c_str(),
                        "2");
}

// ---- anchored and failed ----------------------------------------------------

void anchored_batch_has_proofs(void **)
{
    Db db = connect_app();
    add_records(db, 3);
    NewBatch b = plan(db, 100);
    auto w = commit_batch(db, b);
    assert_true(w.ok());
    const std::string anchor_txid(64, 'e');
    auto r = with_txn(db, [&](Txn &t) { return batch_anchored(t.db(), w->job_id, anchor_txid); });
    assert_true(r.ok() && *r);
    for (int i = 1; i <= 3; ++i) {
        auto p = find_proof(db, hash_of(tx(i)));
        assert_true(p.ok() && *p);
        assert_string_equal((*p)->record_hash.c_str(), hash_of(tx(i)).c_str());
        assert_string_equal((*p)->merkle_root.c_str(), b.merkle_root.c_str());
        assert_string_equal((*p)->path_json.c_str(), b.leaves[i - 1].path_json.c_str());
        assert_string_equal((*p)->anchor_txid.c_str(), anchor_txid.c_str());
        auto a = anchor_of_record(db, tx(i));
        assert_true(a.ok() && *a);
        assert_string_equal((*a)->anchor_txid.c_str(), anchor_txid.c_str());
    }
    // Once only; a failure afterwards changes nothing; other jobs have no batch.
    auto again = batch_anchored(db, w->job_id, std::string(64, 'f'));
    assert_true(again.ok() && !*again);
    auto late = batch_failed(db, w->job_id);
    assert_true(late.ok() && !*late);
    auto none = batch_anchored(db, w->job_id + 1000, anchor_txid);
    assert_true(none.ok() && !*none);
    assert_string_equal(scalar(db, "SELECT txid FROM anchor_batches").c_str(), anchor_txid.c_str());
    auto p = find_proof(db, std::string(64, '0'));
    assert_true(p.ok() && !*p);
}

void failed_batch_frees_its_records(void **)
{
    Db db = connect_app();
    add_records(db, 3);
    auto w = commit_batch(db, plan(db, 2));
    assert_true(w.ok());
    auto r = with_txn(db, [&](Txn &t) { return batch_failed(t.db(), w->job_id); });
    assert_true(r.ok() && *r);
    assert_string_equal(scalar(db, "SELECT status FROM anchor_batches").c_str(), "failed");
    assert_string_equal(scalar(db, "SELECT COUNT(*) FROM records WHERE batch_id IS NULL AND batch_index IS NULL "
                                   "AND merkle_path IS NULL").c_str(),
                        "3");
    auto again = batch_failed(db, w->job_id);
    assert_true(again.ok() && !*again);
    auto anchored = batch_anchored(db, w->job_id, std::string(64, 'e'));
    assert_true(anchored.ok() && !*anchored);
    // The freed records lead the next batch, oldest first.
    auto next = oldest_unbatched(db, 2);
    assert_true(next.ok() && next->size() == 2);
    assert_string_equal((*next)[0].txid.c_str(), tx(1).c_str());
    assert_string_equal((*next)[1].txid.c_str(), tx(2).c_str());
    auto w2 = commit_batch(db, plan(db, 100));
    assert_true(w2.ok());
    assert_int_equal(w2->updated, 3);
    auto p = find_proof(db, hash_of(tx(1)));
    assert_true(p.ok() && !*p);  // the failed batch never proves anything
}

// ---- the run ------------------------------------------------------------------

void run_respects_lease_and_unfinished_job(void **)
{
    Db db = connect_app();
    const admin::AnchorOptions opt{2, 0, 60};
    // Nothing to anchor: no batch, no job.
    auto empty = admin::batch_anchor(db, opt);
    assert_true(empty.ok());
    assert_true(empty->state == admin::AnchorState::empty);
    assert_false(empty->job_id.has_value());
    assert_int_equal(empty->processed, 0);
    add_records(db, 3);
    // Another holder's lease: refused, nothing written.
    auto held = acquire_lease(db, admin::kAnchorLease, "other-host", admin::now_sec(), 60);
    assert_true(held.ok());
    assert_errc(admin::batch_anchor(db, opt), Errc::conflict);
    assert_string_equal(scalar(db, "SELECT COUNT(*) FROM anchor_batches").c_str(), "0");
    assert_true(release_lease(db, *held).ok());
    // A run: the oldest two, not signed within 0 s.
    auto first = admin::batch_anchor(db, opt);
    assert_true(first.ok());
    assert_true(first->state == admin::AnchorState::waiting);
    assert_true(first->job_id.has_value());
    assert_false(first->txid.has_value());
    assert_int_equal(first->processed, 2);
    assert_int_equal(first->updated, 2);
    // Its job is unfinished: the next run is refused although the lease is free.
    assert_errc(admin::batch_anchor(db, opt), Errc::conflict);
    assert_string_equal(scalar(db, "SELECT COUNT(*) FROM leases WHERE name = 'batch-anchor'").c_str(), "0");
    // The worker signs and finishes it: the next run takes the third record.
    const std::string jid = std::to_string(*first->job_id);
    assert_true(db.execute("UPDATE jobs SET step = 'done', txid = ? WHERE id = " + jid, {std::string(64, 'c')}).ok());
    auto second = admin::batch_anchor(db, {5, 0, 60});
    assert_true(second.ok());
    assert_int_equal(second->processed, 1);
    assert_string_equal(scalar(db, "SELECT batch_index FROM records WHERE txid = '" + tx(3) + "'").c_str(), "0");
    assert_errc(admin::batch_anchor(db, {0, 0, 60}), Errc::invalid_argument);
    assert_errc(admin::batch_anchor(db, {1001, 0, 60}), Errc::invalid_argument);
}

void run_reports_signed_txid(void **)
{
    Db db = connect_app();
    add_record(db, tx(1), 100);
    // A "worker" that signs as soon as the job exists (another process).
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        Db w = connect_app();
        for (int i = 0; i < 200; ++i) {
            auto n = w.execute("UPDATE jobs SET step = 'signed', txid = ? WHERE kind = 'anchor' AND txid IS NULL",
                               {std::string(64, 'd')});
            if (n.ok() && *n > 0)
                _exit(0);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        _exit(1);
    }
    auto out = admin::batch_anchor(db, {100, 30, 60});
    int status = 0;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(out.ok());
    assert_true(out->state == admin::AnchorState::signed_tx);
    assert_true(out->txid.has_value());
    assert_string_equal(out->txid->c_str(), std::string(64, 'd').c_str());
    assert_int_equal(out->processed, 1);
    // A one-leaf batch: root = leaf, empty path.
    assert_string_equal(scalar(db, "SELECT merkle_root FROM anchor_batches").c_str(), hash_of(tx(1)).c_str());
    assert_string_equal(scalar(db, "SELECT merkle_path FROM records").c_str(), "[]");
}

// The largest batch: every path leads to the root (plan_batch checks each
// with merkle_verify before it is stored); odd levels pair the last node.
void largest_plan_has_every_path(void **)
{
    std::vector<UnbatchedRecord> recs;
    for (int i = 0; i < admin::kAnchorMaxLimit; ++i)
        recs.push_back({tx(i), hash_of(std::to_string(i)), i});
    const auto t0 = std::chrono::steady_clock::now();
    auto b = admin::plan_batch(recs);
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    print_message("plan of %zu leaves: %.3f s\n", recs.size(), took);
    assert_true(b.ok());
    assert_int_equal(b->leaves.size(), recs.size());
    // 1000 leaves: 10 levels, so 10 steps per path.
    assert_int_equal(std::count(b->leaves[999].path_json.begin(), b->leaves[999].path_json.end(), '{'), 10);
    recs[3].record_hash = "zz";
    assert_errc(admin::plan_batch(recs), Errc::invalid_argument);
    assert_errc(admin::plan_batch({}), Errc::invalid_argument);
}

}  // namespace

int main()
{
    signal(SIGPIPE, SIG_IGN);
    const CMUnitTest tests[] = {
        cmocka_unit_test_setup(selection_oldest_first_then_txid, clean),
        cmocka_unit_test_setup(batch_writes_paths_and_job, clean),
        cmocka_unit_test_setup(record_in_a_batch_abandons_the_transaction, clean),
        cmocka_unit_test_setup(concurrent_writers_one_wins, clean),
        cmocka_unit_test_setup(anchored_batch_has_proofs, clean),
        cmocka_unit_test_setup(failed_batch_frees_its_records, clean),
        cmocka_unit_test_setup(run_respects_lease_and_unfinished_job, clean),
        cmocka_unit_test_setup(run_reports_signed_txid, clean),
        cmocka_unit_test(largest_plan_has_every_path),
    };
    return cmocka_run_group_tests_name("batches", tests, group_setup, group_teardown);
}

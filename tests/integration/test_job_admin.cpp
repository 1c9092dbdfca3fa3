// SPDX-License-Identifier: MIT
// The operator's job functions (store/job_admin.h) against a REAL private
// mariadbd with the migrations applied: a retry does what job_admin.h says
// for each kind of job (made ready, re-queued with its record, or refused),
// and the counts and lists `patchproof jobs check|list` print.
#include <signal.h>

#include <optional>
#include <string>

#include "store/db.h"
#include "store/job_admin.h"
#include "store/jobs.h"
#include "store/pending.h"
#include "store/txn.h"

#include "vectors.h"  // cmocka includes, after every C++ header

#include "fixture.h"
#include "maint_support.h"

using namespace pp;
using namespace pp::store;

namespace {

using pp::test::clean;
using pp::test::col;
using pp::test::connect_app;
using pp::test::group_teardown;
using pp::test::kT0;
using pp::test::record_job;
using pp::test::txid_of;

int group_setup(void **) { return test::setup_migrated("/tmp/pp-jobadmin-XXXXXX", "pp_jobadmin") ? 0 : -1; }

void retry_outcomes(void **)
{
    Db db = connect_app();
    const uint64_t waiting = record_job(db, "uid-wait");
    assert_true(db.execute("UPDATE jobs SET next_attempt_ms = ? WHERE id = ?",
                           {kT0 + 60000, static_cast<int64_t>(waiting)})
                    .ok());
    assert_int_equal(*retry_job_now(db, waiting, kT0), RetryOutcome::made_ready);
    assert_string_equal(col(db, "SELECT next_attempt_ms FROM jobs WHERE id = " + std::to_string(waiting)).c_str(), "0");
    assert_int_equal(*retry_job_now(db, waiting, kT0), RetryOutcome::already_ready);
    assert_true(db.execute("UPDATE jobs SET lease_until_ms = ? WHERE id = ?", {kT0 + 5000, static_cast<int64_t>(waiting)})
                    .ok());
    assert_int_equal(*retry_job_now(db, waiting, kT0), RetryOutcome::busy);

    // A failed registration without a tx: queued again with its record.
    const uint64_t failed = record_job(db, "uid-failed");
    assert_true(db.execute("UPDATE jobs SET step = 'failed', attempts = 6, last_error = 'x' WHERE id = ?",
                           {static_cast<int64_t>(failed)})
                    .ok());
    assert_true(db.execute("UPDATE pending_records SET status = 'failed', error = 'x' WHERE uid_tag_id = 'uid-failed'")
                    .ok());
    assert_int_equal(*retry_job_now(db, failed, kT0), RetryOutcome::requeued);
    assert_string_equal(col(db, "SELECT CONCAT(step, attempts, COALESCE(last_error, '-')) FROM jobs WHERE id = " +
                                std::to_string(failed))
                            .c_str(),
                        "queued0-");
    assert_string_equal(col(db, "SELECT status FROM pending_records WHERE uid_tag_id = 'uid-failed'").c_str(),
                        "pending");

    // Failed again, while another registration of the uid is pending: refused, unchanged.
    assert_true(db.execute("UPDATE jobs SET step = 'failed' WHERE id = ?", {static_cast<int64_t>(failed)}).ok());
    assert_true(db.execute("UPDATE pending_records SET status = 'failed' WHERE uid_tag_id = 'uid-failed'").ok());
    NewPending other;
    other.id = std::string(31, 'f') + "1";
    other.kind = "registration";
    other.uid_tag_id = "uid-failed";
    other.record = "{}";
    assert_true(with_txn(db, [&](Txn &t) { return enqueue(t.db(), other); }).ok());
    assert_int_equal(*retry_job_now(db, failed, kT0), RetryOutcome::uid_taken);
    assert_string_equal(col(db, "SELECT step FROM jobs WHERE id = " + std::to_string(failed)).c_str(), "failed");

    // A failed job with a stored transaction is never re-queued.
    const uint64_t signed_ = record_job(db, "uid-signed");
    assert_true(db.execute("UPDATE jobs SET step = 'failed', raw_tx = '00', txid = ? WHERE id = ?",
                           {std::string_view(txid_of(3)), static_cast<int64_t>(signed_)})
                    .ok());
    assert_int_equal(*retry_job_now(db, signed_, kT0), RetryOutcome::has_tx);
    // Failed transfers and maintenance jobs: refused.
    const uint64_t transfer = record_job(db, "uid-transfer", "transfer");
    assert_true(db.execute("UPDATE jobs SET step = 'failed' WHERE id = ?", {static_cast<int64_t>(transfer)}).ok());
    assert_int_equal(*retry_job_now(db, transfer, kT0), RetryOutcome::not_requeueable);
    auto sweep = with_txn(db, [&](Txn &t) { return insert_job(t.db(), JobKind::sweep, "{}"); });
    assert_true(db.execute("UPDATE jobs SET step = 'failed' WHERE id = ?", {static_cast<int64_t>(*sweep)}).ok());
    assert_int_equal(*retry_job_now(db, *sweep, kT0), RetryOutcome::not_requeueable);
    assert_true(db.execute("UPDATE jobs SET step = 'done' WHERE id = ?", {static_cast<int64_t>(waiting)}).ok());
    assert_int_equal(*retry_job_now(db, waiting, kT0), RetryOutcome::done);
    assert_int_equal(*retry_job_now(db, 999999, kT0), RetryOutcome::not_found);

    auto c = count_jobs(db, 0);
    assert_true(c.ok());
    assert_int_equal(c->failed_recent, 4);
    assert_int_equal(c->by_step[static_cast<size_t>(JobStep::done)], 1);
    assert_int_equal(count_jobs(db, 3600)->failed_recent, 4);
    assert_true(db.execute("UPDATE jobs SET updated_at = NOW(3) - INTERVAL 2 HOUR WHERE step = 'failed'").ok());
    assert_int_equal(count_jobs(db, 3600)->failed_recent, 0);

    auto failed_list = list_jobs(db, JobStep::failed, 100);
    assert_true(failed_list.ok());
    assert_int_equal(failed_list->size(), 4);
    assert_int_equal(list_jobs(db, std::nullopt, 2)->size(), 2);
    assert_true((*list_jobs(db, std::nullopt, 1))[0].id > waiting);  // newest first
}

}  // namespace

int main()
{
    signal(SIGPIPE, SIG_IGN);
    const CMUnitTest tests[] = {
        cmocka_unit_test_setup(retry_outcomes, clean),
    };
    return cmocka_run_group_tests_name("job_admin", tests, group_setup, group_teardown);
}

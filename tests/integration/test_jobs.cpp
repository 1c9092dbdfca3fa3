// SPDX-License-Identifier: MIT
// Job bookkeeping (store/jobs.h) against a REAL private mariadbd with the
// migrations applied: concurrent claims from forked processes get different
// jobs (FOR UPDATE SKIP LOCKED), live leases hide a job, an expired lease is
// taken over and the old owner can no longer write, retries count attempts
// and delay, defers do not count, and the signed transaction is stored.
// (Jobs of the other kinds: test_job_kinds.cpp.)
// The job's final transaction (store/anchor.h), made the victim of a real
// InnoDB deadlock, is re-run whole by store::with_txn and commits once.
// Time is passed in (now_ms), so leases and delays are tested without sleeping.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "vectors.h"  // cmocka includes

#include "fixture.h"
#include "jobs_support.h"
#include "store/anchor.h"
#include "store/db.h"
#include "store/jobs.h"
#include "store/txn.h"
#include "store/utxo_pool.h"
#include "store/migrate.h"
#include "store/pending.h"

using namespace pp;
using namespace pp::store;

namespace {

using pp::test::connect_app;
using pp::test::assert_none;
using pp::test::claim_some;
using pp::test::enqueue_one;
using pp::test::group_teardown;
using pp::test::kLease;

constexpr int64_t kT0 = 1'700'000'000'000;  // a fixed "now"; claims take the clock as an argument

int group_setup(void **) { return test::setup_migrated("/tmp/pp-jobs-XXXXXX", "pp_jobs") ? 0 : -1; }

// Every test starts from empty job and pending tables.
int clean(void **)
{
    Db db = connect_app();
    for (const char *sql : {"DELETE FROM jobs", "DELETE FROM pending_records", "DELETE FROM utxos",
                            "DELETE FROM patch_state", "DELETE FROM records"})
        if (!db.execute(sql)) return -1;
    return 0;
}

std::string column(Db &db, const char *sql, uint64_t job_id)
{
    auto rows = db.query(sql, {static_cast<int64_t>(job_id)});
    assert_true(rows.ok());
    assert_int_equal(rows->size(), 1);
    return (*rows)[0][0].value_or("NULL");
}

// ---- tests ---------------------------------------------------------------

void claim_rejects_bad_arguments(void **)
{
    Db db = connect_app();
    assert_errc(claim_job(db, "", kT0, kLease), Errc::invalid_argument);
    assert_errc(claim_job(db, "w", kT0, 0), Errc::invalid_argument);
    assert_none(db, "w", kT0);  // an empty table is "no job", not an error
}

// Two processes claim at the same moment: each gets its own job; a third
// claim finds nothing while both leases are live.
void concurrent_claims_get_different_jobs(void **)
{
    Db db = connect_app();
    const uint64_t a = enqueue_one(db, "uid-conc-1");
    const uint64_t b = enqueue_one(db, "uid-conc-2");

    int go[2], out[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(out), 0);
    std::vector<pid_t> kids;
    for (int i = 0; i < 2; ++i) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            // Child: own connection, wait for the start signal, claim once,
            // report the id (0 = none, -1 = error). _exit: no atexit cleanup.
            close(go[1]);
            close(out[0]);
            auto mine = Db::connect(test::servers().app);
            char c = 0;
            if (read(go[0], &c, 1) != 1) _exit(2);
            long long got = -1;
            if (mine) {
                auto r = claim_job(*mine, "child-" + std::to_string(i), kT0, kLease);
                if (r) got = r->has_value() ? static_cast<long long>((*r)->id) : 0;
            }
            ssize_t w = write(out[1], &got, sizeof got);
            _exit(w == sizeof got ? 0 : 3);
        }
        kids.push_back(pid);
    }
    close(go[0]);
    close(out[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // both connected and waiting
    assert_int_equal(write(go[1], "xx", 2), 2);  // release both at once
    close(go[1]);

    std::set<long long> got;
    for (int i = 0; i < 2; ++i) {
        long long id = 0;
        assert_int_equal(read(out[0], &id, sizeof id), sizeof id);
        got.insert(id);
    }
    close(out[0]);
    for (pid_t k : kids) {
        int status = 0;
        assert_int_equal(waitpid(k, &status, 0), k);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(got.size(), 2);
    assert_true(got.count(static_cast<long long>(a)) == 1);
    assert_true(got.count(static_cast<long long>(b)) == 1);

    assert_none(db, "third", kT0 + 1);
    assert_none(db, "third", kT0 + kLease - 1);
    const std::string owners = column(db, "SELECT COUNT(DISTINCT lease_owner) FROM jobs WHERE id >= ?", a);
    assert_string_equal(owners.c_str(), "2");
    print_message("two forked claimers got jobs %lld and %lld; a third claim got none\n", *got.begin(),
                  *got.rbegin());
}

// A row locked by another transaction is skipped at once, not waited for.
void claim_skips_locked_rows(void **)
{
    Db db = connect_app();
    const uint64_t a = enqueue_one(db, "uid-lock-1");
    const uint64_t b = enqueue_one(db, "uid-lock-2");

    Db holder = connect_app();
    assert_true(holder.begin().ok());
    auto locked = holder.query("SELECT id FROM jobs WHERE id = ? FOR UPDATE", {static_cast<int64_t>(a)});
    assert_true(locked.ok());
    assert_int_equal(locked->size(), 1);

    const auto start = std::chrono::steady_clock::now();
    Job j = claim_some(db, "w1", kT0);
    const auto waited = std::chrono::steady_clock::now() - start;
    assert_int_equal(j.id, b);
    assert_true(waited < std::chrono::seconds(2));  // innodb_lock_wait_timeout is 50 s
    assert_none(db, "w2", kT0);                     // a is still locked, b is leased
    assert_true(holder.rollback().ok());

    Job first = claim_some(db, "w2", kT0);  // the lock is gone: a is free again
    assert_int_equal(first.id, a);
}

// An expired lease is claimable by another owner; the first owner's writes
// then fail with conflict.
void expired_lease_is_taken_over(void **)
{
    Db db = connect_app();
    const uint64_t id = enqueue_one(db, "uid-lease");
    Job mine = claim_some(db, "owner-a", kT0);
    assert_int_equal(mine.id, id);
    assert_string_equal(column(db, "SELECT lease_owner FROM jobs WHERE id = ?", id).c_str(), "owner-a");
    assert_string_equal(column(db, "SELECT lease_until_ms FROM jobs WHERE id = ?", id).c_str(),
                        std::to_string(kT0 + kLease).c_str());

    assert_none(db, "owner-b", kT0 + kLease - 1);
    assert_none(db, "owner-b", kT0 + kLease);  // lease_until_ms < now, strictly
    Job theirs = claim_some(db, "owner-b", kT0 + kLease + 1);
    assert_int_equal(theirs.id, id);
    assert_true(theirs.version > mine.version);
    assert_string_equal(column(db, "SELECT lease_owner FROM jobs WHERE id = ?", id).c_str(), "owner-b");

    Job stale = mine;
    assert_errc(advance_job(db, stale, JobStep::inputs_locked, std::nullopt, std::nullopt, kT0 + 2 * kLease),
                Errc::conflict);
    assert_errc(retry_job(db, stale, "x", kT0), Errc::conflict);
    assert_errc(defer_job(db, stale, kT0), Errc::conflict);
    assert_int_equal(stale.version, mine.version);  // a failed write changes nothing
    assert_string_equal(std::string(job_step_text(stale.step)).c_str(), "queued");
    assert_string_equal(column(db, "SELECT step FROM jobs WHERE id = ?", id).c_str(), "queued");

    assert_true(advance_job(db, theirs, JobStep::inputs_locked, std::nullopt, std::nullopt, kT0 + 2 * kLease).ok());
    assert_string_equal(std::string(job_step_text(theirs.step)).c_str(), "inputs_locked");
    assert_string_equal(column(db, "SELECT step FROM jobs WHERE id = ?", id).c_str(), "inputs_locked");
    // advance extends the lease: nobody can take it before the new deadline.
    assert_none(db, "owner-c", kT0 + 2 * kLease - 1);
}

void retry_counts_attempts_and_delays(void **)
{
    Db db = connect_app();
    const uint64_t id = enqueue_one(db, "uid-retry");
    Job j = claim_some(db, "w", kT0);
    assert_int_equal(j.attempts, 0);

    assert_true(retry_job(db, j, "chain unavailable", kT0 + 5000).ok());
    assert_int_equal(j.attempts, 1);
    assert_string_equal(column(db, "SELECT attempts FROM jobs WHERE id = ?", id).c_str(), "1");
    assert_string_equal(column(db, "SELECT last_error FROM jobs WHERE id = ?", id).c_str(), "chain unavailable");
    assert_string_equal(column(db, "SELECT lease_owner FROM jobs WHERE id = ?", id).c_str(), "NULL");
    assert_none(db, "w", kT0 + 1);     // the lease is released, but the delay holds
    assert_none(db, "w", kT0 + 4999);

    Job again = claim_some(db, "other", kT0 + 5000);
    assert_int_equal(again.id, id);
    assert_int_equal(again.attempts, 1);
    assert_string_equal(std::string(job_step_text(again.step)).c_str(), "queued");
    assert_true(retry_job(db, again, std::string(400, 'e'), kT0 + 6000).ok());  // long reasons are cut to fit
    assert_int_equal(again.attempts, 2);
    assert_string_equal(column(db, "SELECT CHAR_LENGTH(last_error) FROM jobs WHERE id = ?", id).c_str(), "255");
    Job third = claim_some(db, "w", kT0 + 6000);
    assert_int_equal(third.attempts, 2);
}

void defer_does_not_count(void **)
{
    Db db = connect_app();
    const uint64_t id = enqueue_one(db, "uid-defer");
    Job j = claim_some(db, "w", kT0);
    assert_true(defer_job(db, j, kT0 + 3000).ok());
    assert_int_equal(j.attempts, 0);
    assert_string_equal(column(db, "SELECT attempts FROM jobs WHERE id = ?", id).c_str(), "0");
    assert_none(db, "w", kT0 + 2999);
    Job k = claim_some(db, "other", kT0 + 3000);
    assert_int_equal(k.attempts, 0);

    // Deferring to "now" (what SIGTERM does) hands the job over at once.
    assert_true(defer_job(db, k, kT0 + 3000).ok());
    Job l = claim_some(db, "third", kT0 + 3000);
    assert_int_equal(l.id, id);
    assert_int_equal(l.attempts, 0);
}

void advance_stores_signed_tx(void **)
{
    Db db = connect_app();
    const uint64_t id = enqueue_one(db, "uid-adv");
    Job j = claim_some(db, "w", kT0);
    assert_false(j.raw_tx.has_value());
    assert_false(j.txid.has_value());
    assert_true(advance_job(db, j, JobStep::inputs_locked, std::nullopt, std::nullopt, kT0 + kLease).ok());

    const std::string raw = "0100000001" + std::string(200, 'a');
    const std::string txid(64, 'b');
    assert_true(advance_job(db, j, JobStep::signed_tx, raw, txid, kT0 + kLease).ok());
    assert_string_equal(std::string(job_step_text(j.step)).c_str(), "signed");
    assert_string_equal(j.raw_tx->c_str(), raw.c_str());

    // A worker killed here: the next owner resumes from 'signed' with the same bytes.
    Job resumed = claim_some(db, "w2", kT0 + kLease + 1);
    assert_int_equal(resumed.id, id);
    assert_string_equal(std::string(job_step_text(resumed.step)).c_str(), "signed");
    assert_true(resumed.raw_tx.has_value() && *resumed.raw_tx == raw);
    assert_true(resumed.txid.has_value() && *resumed.txid == txid);

    // Later steps pass nullopt and must not erase the stored transaction.
    assert_true(advance_job(db, resumed, JobStep::broadcast, std::nullopt, std::nullopt, kT0 + 2 * kLease).ok());
    assert_string_equal(column(db, "SELECT raw_tx FROM jobs WHERE id = ?", id).c_str(), raw.c_str());
    assert_string_equal(column(db, "SELECT txid FROM jobs WHERE id = ?", id).c_str(), txid.c_str());
    assert_true(advance_job(db, resumed, JobStep::done, std::nullopt, std::nullopt, 0).ok());
    assert_none(db, "w3", kT0 + 10 * kLease);  // done is never claimed

    // Neither is failed.
    const uint64_t f = enqueue_one(db, "uid-failed");
    Job jf = claim_some(db, "w", kT0);
    assert_int_equal(jf.id, f);
    assert_true(advance_job(db, jf, JobStep::failed, std::nullopt, std::nullopt, 0).ok());
    assert_none(db, "w3", kT0 + 10 * kLease);
}

// The claim carries the pending record's fields the worker needs.
void claim_reads_pending_record(void **)
{
    Db db = connect_app();
    const std::string prev(64, 'c'), intent(32, 'd');
    enqueue_one(db, "uid-xfer", "transfer", prev, intent);
    Job j = claim_some(db, "w", kT0);
    assert_true(j.job_kind == JobKind::record);
    assert_true(j.payload.empty());
    assert_string_equal(j.kind.c_str(), "transfer");
    assert_string_equal(j.uid_tag_id.c_str(), "uid-xfer");
    assert_string_equal(j.record.c_str(), "{\"auth\":{\"owner\":\"x\"},\"uid\":\"uid-xfer\"}");
    assert_true(j.prev_txid && *j.prev_txid == prev);
    assert_true(j.claim_intent_id && *j.claim_intent_id == intent);
    assert_int_equal(j.pending_id.size(), 32);
    assert_string_equal(std::string(job_step_text(j.step)).c_str(), "queued");

    enqueue_one(db, "uid-reg");
    Job r = claim_some(db, "w", kT0);
    assert_string_equal(r.kind.c_str(), "registration");
    assert_false(r.prev_txid.has_value());
    assert_false(r.claim_intent_id.has_value());
}

// Claims go oldest first.
void claims_are_in_id_order(void **)
{
    Db db = connect_app();
    std::vector<uint64_t> ids;
    for (int i = 0; i < 5; ++i) ids.push_back(enqueue_one(db, "uid-order-" + std::to_string(i)));
    for (uint64_t expected : ids) assert_int_equal(claim_some(db, "w", kT0).id, expected);
    assert_none(db, "w", kT0);
}

// ---- the final transaction under a real deadlock -------------------------

constexpr const char *kKey = "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5";
const std::string kScript = "76a914" + std::string(40, '1') + "88ac";

std::string one(Db &db, const std::string &sql, std::initializer_list<Param> params)
{
    auto rows = db.query(sql, params);
    assert_true(rows.ok());
    assert_int_equal(rows->size(), 1);
    return (*rows)[0][0].value_or("NULL");
}

// A job at 'broadcast' holding one locked input; returns the input's id.
uint64_t job_at_broadcast(Db &db, Job &job, const std::string &txid)
{
    UtxoPool pool(db);
    auto in = pool.add(std::string(64, 'a'), 0, 100'000, kKey, kScript, "available");
    assert_true(in.ok());
    auto locked = pool.lock_for_job(job.id, 50'000, kT0);
    assert_true(locked.ok());
    assert_int_equal(locked->size(), 1);
    assert_true(advance_job(db, job, JobStep::inputs_locked, std::nullopt, std::nullopt, kT0 + kLease).ok());
    assert_true(advance_job(db, job, JobStep::signed_tx, std::string("00"), txid, kT0 + kLease).ok());
    assert_true(advance_job(db, job, JobStep::broadcast, std::nullopt, std::nullopt, kT0 + kLease).ok());
    return *in;
}

// Waits (bounded) until InnoDB shows a transaction waiting for a lock.
// innodb_trx is a cache refreshed at most every 100 ms, so poll slower.
bool someone_waits(Db &root)
{
    for (int i = 0; i < 100; ++i) {
        auto rows = root.query("SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT'");
        if (rows && !rows->empty() && (*rows)[0][0] == std::optional<std::string>("1")) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
}

// Child side: runs the final transaction on its own connection and writes
// {errc or 0, with_txn re-runs, 1 if done} to fd. Never returns.
[[noreturn]] void final_in_child(const Job &job, const Anchor &a, int fd)
{
    int64_t report[3] = {-1, 0, 0};
    auto mine = Db::connect(test::servers().app);
    if (mine) {
        const uint64_t before = txn_retries();
        Job copy = job;
        auto r = confirm_anchor(*mine, copy, a);
        report[0] = r ? 0 : static_cast<int64_t>(r.error());
        report[1] = static_cast<int64_t>(txn_retries() - before);
        report[2] = r && r->refused.empty() && copy.step == JobStep::done ? 1 : 0;
    }
    ssize_t w = write(fd, report, sizeof report);
    _exit(w == sizeof report ? 0 : 3);
}

void assert_anchored_once(Db &db, const Job &job, uint64_t input, const std::string &txid, const std::string &uid)
{
    const int64_t jid = static_cast<int64_t>(job.id), in = static_cast<int64_t>(input);
    const std::string_view t(txid), pid(job.pending_id);
    assert_string_equal(one(db, "SELECT step FROM jobs WHERE id = ?", {jid}).c_str(), "done");
    assert_string_equal(one(db, "SELECT status FROM utxos WHERE id = ?", {in}).c_str(), "spent");
    assert_string_equal(one(db, "SELECT COUNT(*) FROM utxos WHERE status = 'locked'", {}).c_str(), "0");
    assert_string_equal(one(db, "SELECT spent_txid FROM utxos WHERE id = ?", {in}).c_str(), txid.c_str());
    assert_string_equal(one(db, "SELECT COUNT(*) FROM utxos WHERE txid = ? AND vout = 1 AND status = 'available' "
                                "AND satoshis = 40000",
                            {t}).c_str(),
                        "1");
    assert_string_equal(one(db, "SELECT current_txid FROM patch_state WHERE uid_tag_id = ?", {std::string_view(uid)})
                            .c_str(),
                        txid.c_str());
    assert_string_equal(one(db, "SELECT COUNT(*) FROM records WHERE txid = ?", {t}).c_str(), "1");
    assert_string_equal(one(db, "SELECT status FROM pending_records WHERE id = ?", {pid}).c_str(), "confirmed");
    assert_string_equal(one(db, "SELECT txid FROM pending_records WHERE id = ?", {pid}).c_str(), txid.c_str());
}

// A second connection holds the patch_state row the final transaction is
// about to insert (and a few hundred more rows, so it is the bigger one),
// then asks for the input row the final transaction has locked: InnoDB
// picks the final transaction as the deadlock victim. It must be re-run
// whole, once the other side is gone, and commit everything exactly once.
void final_transaction_rerun_after_deadlock(void **)
{
    Db db = connect_app();
    const std::string uid = "uid-deadlock", txid(64, 'e');
    enqueue_one(db, uid);
    Job job = claim_some(db, "w", kT0);
    const uint64_t input = job_at_broadcast(db, job, txid);

    Anchor a;
    a.record_hash = std::string(64, 'f');
    a.owner_address = "x";
    a.change = {{1, 40'000, kScript}};
    a.change_key_id = kKey;
    a.now_ms = kT0;

    Db other = connect_app();
    assert_true(other.execute("CREATE TABLE IF NOT EXISTS ballast (id INT NOT NULL PRIMARY KEY)").ok());
    assert_true(other.execute("DELETE FROM ballast").ok());
    assert_true(other.begin().ok());
    assert_true(other.execute("INSERT INTO ballast (id) WITH RECURSIVE n AS (SELECT 1 AS i UNION ALL "
                              "SELECT i + 1 FROM n WHERE i < 500) SELECT i FROM n").ok());
    assert_true(other.execute("INSERT INTO patch_state (uid_tag_id, current_txid, current_record, record_hash, "
                              "owner_address) VALUES (?, ?, '{}', ?, 'y')",
                              {std::string_view(uid), std::string_view(std::string(64, 'c')),
                               std::string_view(a.record_hash)})
                    .ok());

    // The final transaction runs in a child with its own connection; it
    // reports its outcome and how often with_txn re-ran it.
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) final_in_child(job, a, out[1]);
    close(out[1]);
    unsigned err = 0;
    auto root = Db::connect(test::servers().root, &err);
    assert_true(root.ok());
    const bool waiting = someone_waits(*root);  // the final transaction, at the patch_state insert
    // Closes the cycle: this side waits for the input row, InnoDB aborts the
    // smaller final transaction and this statement then goes through.
    auto closing = other.execute("UPDATE utxos SET version = version WHERE id = ?", {static_cast<int64_t>(input)});
    const unsigned closing_errno = other.last_error_number();
    assert_true(other.rollback().ok());
    int64_t report[3] = {-1, 0, 0};
    assert_int_equal(read(out[0], report, sizeof report), sizeof report);
    close(out[0]);
    int status = 0;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    if (!waiting) fail_msg("no lock wait seen (final transaction: errc %lld)", static_cast<long long>(report[0]));
    if (!closing) fail_msg("the bigger transaction was the victim (mysql error %u)", closing_errno);
    if (report[0] != 0) fail_msg("confirm_anchor: %s", std::string(errc_name(static_cast<Errc>(report[0]))).c_str());
    assert_int_equal(report[2], 1);
    const uint64_t reruns = static_cast<uint64_t>(report[1]);
    assert_true(reruns >= 1);

    assert_anchored_once(db, job, input, txid, uid);
    print_message("final transaction was the deadlock victim and re-ran %llu time(s); committed once\n",
                  static_cast<unsigned long long>(reruns));
}

// Running the final transaction again after it committed changes nothing
// (the harmless duplicates are re-checked, not assumed).
void final_transaction_is_not_repeated(void **)
{
    Db db = connect_app();
    const std::string txid(64, 'd');
    enqueue_one(db, "uid-twice");
    Job job = claim_some(db, "w", kT0);
    job_at_broadcast(db, job, txid);
    Anchor a;
    a.record_hash = std::string(64, 'f');
    a.owner_address = "x";
    a.change = {{1, 40'000, kScript}};
    a.change_key_id = kKey;
    Job first = job;
    assert_true(confirm_anchor(db, first, a).ok());
    // A stale copy (its version is old) must not write anything.
    Job stale = job;
    assert_errc(confirm_anchor(db, stale, a), Errc::conflict);
    assert_string_equal(one(db, "SELECT COUNT(*) FROM utxos WHERE txid = ?", {std::string_view(txid)}).c_str(), "1");
}

// The final transaction's duplicate keys are accepted only when they are
// this very job's rows: a change outpoint in the pool with another amount or
// a history row with another hash abort it (nothing committed), a uid
// registered by another record refuses the record and fails the job.
void final_transaction_checks_duplicates(void **)
{
    Db db = connect_app();
    const std::string uid = "uid-dups", txid(64, 'b');
    enqueue_one(db, uid);
    Job job = claim_some(db, "w", kT0);
    const uint64_t input = job_at_broadcast(db, job, txid);
    const int64_t jid = static_cast<int64_t>(job.id), in = static_cast<int64_t>(input);
    const std::string_view t(txid), pid(job.pending_id);
    Anchor a;
    a.record_hash = std::string(64, 'f');
    a.owner_address = "x";
    a.change = {{1, 40'000, kScript}};
    a.change_key_id = kKey;
    a.now_ms = kT0;

    UtxoPool pool(db);
    assert_true(pool.add(txid, 1, 39'999, kKey, kScript, "available").ok());
    Job copy = job;
    assert_errc(confirm_anchor(db, copy, a), Errc::internal);
    assert_true(copy.step == JobStep::broadcast);
    assert_string_equal(one(db, "SELECT step FROM jobs WHERE id = ?", {jid}).c_str(), "broadcast");
    assert_string_equal(one(db, "SELECT status FROM utxos WHERE id = ?", {in}).c_str(), "locked");

    assert_true(db.execute("DELETE FROM utxos WHERE txid = ?", {t}).ok());
    assert_true(db.execute("INSERT INTO records (txid, uid_tag_id, kind, record, record_hash, confirmed_ms) "
                           "VALUES (?, ?, 'registration', '{}', ?, 1)",
                           {t, std::string_view(uid), std::string_view(std::string(64, 'c'))})
                    .ok());
    assert_errc(confirm_anchor(db, copy, a), Errc::internal);
    assert_string_equal(one(db, "SELECT step FROM jobs WHERE id = ?", {jid}).c_str(), "broadcast");
    assert_string_equal(one(db, "SELECT COUNT(*) FROM utxos WHERE txid = ?", {t}).c_str(), "0");

    assert_true(db.execute("DELETE FROM records WHERE txid = ?", {t}).ok());
    assert_true(db.execute("INSERT INTO patch_state (uid_tag_id, current_txid, current_record, record_hash, "
                           "owner_address) VALUES (?, ?, '{}', ?, 'y')",
                           {std::string_view(uid), std::string_view(std::string(64, 'c')),
                            std::string_view(a.record_hash)})
                    .ok());
    auto r = confirm_anchor(db, copy, a);
    assert_true(r.ok());
    assert_string_equal(r->refused.c_str(), "uid already registered by another record");
    assert_true(copy.step == JobStep::failed);
    assert_string_equal(one(db, "SELECT step FROM jobs WHERE id = ?", {jid}).c_str(), "failed");
    assert_string_equal(one(db, "SELECT status FROM utxos WHERE id = ?", {in}).c_str(), "spent");
    assert_string_equal(one(db, "SELECT COUNT(*) FROM utxos WHERE txid = ? AND satoshis = 40000", {t}).c_str(), "1");
    assert_string_equal(one(db, "SELECT status FROM pending_records WHERE id = ?", {pid}).c_str(), "failed");
    assert_string_equal(one(db, "SELECT txid FROM pending_records WHERE id = ?", {pid}).c_str(), txid.c_str());
    assert_string_equal(one(db, "SELECT COUNT(*) FROM records WHERE txid = ?", {t}).c_str(), "0");
}

}  // namespace

int main()
{
    signal(SIGPIPE, SIG_IGN);
    const CMUnitTest tests[] = {
        cmocka_unit_test_setup(claim_rejects_bad_arguments, clean),
        cmocka_unit_test_setup(concurrent_claims_get_different_jobs, clean),
        cmocka_unit_test_setup(claim_skips_locked_rows, clean),
        cmocka_unit_test_setup(expired_lease_is_taken_over, clean),
        cmocka_unit_test_setup(retry_counts_attempts_and_delays, clean),
        cmocka_unit_test_setup(defer_does_not_count, clean),
        cmocka_unit_test_setup(advance_stores_signed_tx, clean),
        cmocka_unit_test_setup(claim_reads_pending_record, clean),
        cmocka_unit_test_setup(claims_are_in_id_order, clean),
        cmocka_unit_test_setup(final_transaction_rerun_after_deadlock, clean),
        cmocka_unit_test_setup(final_transaction_is_not_repeated, clean),
        cmocka_unit_test_setup(final_transaction_checks_duplicates, clean),
    };
    return cmocka_run_group_tests_name("jobs", tests, group_setup, group_teardown);
}

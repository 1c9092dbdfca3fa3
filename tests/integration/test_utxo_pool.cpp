// SPDX-License-Identifier: MIT
// UTXO pool against a REAL private mariadbd (tests/integration/fixture.h)
// with the migrations of sql/ applied: add and duplicates, smallest
// sufficient lock, multi-UTXO lock, shortfall releasing everything, the
// version guard, mark_spent, unlock, reap by job step, stats, and 8 forked
// processes competing for one pool without ever sharing a UTXO.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"
#include "vectors.h"  // cmocka includes

#include "crypto/base58.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/tx.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/utxo_pool.h"

using namespace pp;
using namespace pp::store;

namespace {

using pp::test::connect_app;
using pp::test::group_teardown;

constexpr int64_t kNow = 1'700'000'000'000;
constexpr int64_t kMinute = 60'000;

int group_setup(void **) { return test::setup_migrated("/tmp/pp-utxo-XXXXXX", "pp_utxo") ? 0 : -1; }

void reset(Db &db)
{
    assert_true(db.exec_script("DELETE FROM utxos; DELETE FROM jobs;").ok());
}

std::string txid_for(uint64_t n)
{
    const std::string s = "utxo-" + std::to_string(n);
    return crypto::hex_encode(crypto::sha256(crypto::as_bytes(s)));
}

const std::string &key_id()
{
    static const std::string k = "02" + std::string(64, 'b');
    return k;
}

std::string script_hex()
{
    crypto::Hash160 h{};
    h.fill(0x5a);
    return crypto::hex_encode(crypto::p2pkh_script(h));
}

uint64_t add(UtxoPool &pool, uint64_t n, uint64_t sats, const char *status = "available")
{
    auto id = pool.add(txid_for(n), static_cast<uint32_t>(n % 4), sats, key_id(), script_hex(), status);
    if (!id) fail_msg("add failed: %s", std::string(errc_name(id.error())).c_str());
    return *id;
}

std::string status_of(Db &db, uint64_t id)
{
    auto r = db.query("SELECT status FROM utxos WHERE id = ?", {int64_t(id)});
    assert_true(r.ok());
    assert_int_equal(r->size(), 1);
    return *(*r)[0][0];
}

uint64_t sum(const std::vector<Utxo> &v)
{
    uint64_t s = 0;
    for (const Utxo &u : v) s += u.satoshis;
    return s;
}

uint64_t insert_job(Db &db, const char *step, int n)
{
    const std::string pending = std::string(31 - std::to_string(n).size(), 'p') + "-" + std::to_string(n);
    auto r = db.execute("INSERT INTO jobs (pending_id, step) VALUES (?, ?)",
                        {std::string_view(pending), std::string_view(step)});
    assert_true(r.ok());
    auto id = db.last_insert_id();
    assert_true(id.ok());
    return *id;
}

// ---- tests -------------------------------------------------------------

void add_and_duplicate(void **)
{
    Db db = connect_app();
    reset(db);
    UtxoPool pool(db);
    const uint64_t id = add(pool, 1, 5000);
    assert_true(id > 0);
    auto dup = pool.add(txid_for(1), 1, 5000, key_id(), script_hex(), "available");
    assert_errc(dup, Errc::conflict);
    // Same txid, another vout: a different outpoint.
    auto other = pool.add(txid_for(1), 2, 10, key_id(), script_hex(), "unconfirmed");
    assert_true(other.ok());
    // Upper-case hex is stored lower-case, so it is the same outpoint.
    std::string upper = txid_for(1);
    for (char &c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
    assert_errc(pool.add(upper, 1, 5000, key_id(), script_hex(), "available"), Errc::conflict);
    auto found = pool.find(txid_for(1), 2);
    assert_true(found.ok() && found->has_value());
    assert_int_equal((*found)->id, *other);
    assert_int_equal((*found)->satoshis, 10);
    assert_string_equal((*found)->key_id.c_str(), key_id().c_str());
    assert_string_equal((*found)->status.c_str(), "unconfirmed");
    auto absent = pool.find(txid_for(1), 3);
    assert_true(absent.ok() && !absent->has_value());

    assert_errc(pool.add("abc", 0, 1, key_id(), script_hex(), "available"), Errc::invalid_argument);
    assert_errc(pool.add(txid_for(2), 0, 0, key_id(), script_hex(), "available"), Errc::invalid_argument);
    assert_errc(pool.add(txid_for(2), 0, 1, "02zz", script_hex(), "available"), Errc::invalid_argument);
    assert_errc(pool.add(txid_for(2), 0, 1, key_id(), "", "available"), Errc::invalid_argument);
    assert_errc(pool.add(txid_for(2), 0, 1, key_id(), script_hex(), "locked"), Errc::invalid_argument);
    assert_errc(pool.add(txid_for(2), 0, crypto::MAX_MONEY + 1, key_id(), script_hex(), "available"),
                Errc::invalid_argument);
    auto row = db.query("SELECT txid, vout, satoshis, key_id, script_hex, status, version FROM utxos WHERE id = ?",
                        {int64_t(id)});
    assert_true(row.ok());
    assert_string_equal((*row)[0][0]->c_str(), txid_for(1).c_str());
    assert_string_equal((*row)[0][2]->c_str(), "5000");
    assert_string_equal((*row)[0][5]->c_str(), "available");
    assert_string_equal((*row)[0][6]->c_str(), "0");
    print_message("add: stored lower-case, duplicate outpoint (any case) -> conflict, bad fields and "
                  "status locked -> invalid_argument\n");
}

void lock_smallest_sufficient(void **)
{
    Db db = connect_app();
    reset(db);
    UtxoPool pool(db);
    add(pool, 1, 500);
    const uint64_t mid = add(pool, 2, 2000);
    add(pool, 3, 9000);
    add(pool, 4, 1500);
    add(pool, 5, 3000, "unconfirmed");  // never picked

    auto got = pool.lock_for_job(7, 1800, kNow);
    assert_true(got.ok());
    assert_int_equal(got->size(), 1);
    assert_int_equal((*got)[0].id, mid);
    assert_string_equal((*got)[0].status.c_str(), "locked");
    assert_int_equal((*got)[0].version, 1);
    auto held = pool.locked_by(7);
    assert_true(held.ok());
    assert_int_equal(held->size(), 1);
    assert_int_equal((*held)[0].id, mid);
    assert_int_equal((*held)[0].version, 1);
    auto row = db.query("SELECT locked_by, locked_ms FROM utxos WHERE id = ?", {int64_t(mid)});
    assert_true(row.ok());
    assert_string_equal((*row)[0][0]->c_str(), "7");
    assert_string_equal((*row)[0][1]->c_str(), std::to_string(kNow).c_str());

    // Exactly equal counts as sufficient.
    auto exact = pool.lock_for_job(8, 500, kNow);
    assert_true(exact.ok());
    assert_int_equal(exact->size(), 1);
    assert_int_equal((*exact)[0].satoshis, 500);
    print_message("lock: need 1800 from {500, 1500, 2000, 9000, unconfirmed 3000} -> the 2000; "
                  "need 500 -> the 500\n");
}

void lock_multi_and_shortfall(void **)
{
    Db db = connect_app();
    reset(db);
    UtxoPool pool(db);
    for (uint64_t i = 1; i <= 5; ++i) add(pool, i, i * 1000);  // 1000..5000, total 15000
    add(pool, 6, 100000, "unconfirmed");

    auto multi = pool.lock_for_job(11, 8500, kNow);
    assert_true(multi.ok());
    assert_int_equal(multi->size(), 2);  // largest first: 5000 + 4000 >= 8500
    assert_int_equal((*multi)[0].satoshis, 5000);
    assert_int_equal((*multi)[1].satoshis, 4000);
    std::set<uint64_t> ids;
    for (const Utxo &u : *multi) ids.insert(u.id);
    assert_int_equal(ids.size(), 2);

    // Remaining available: 1000 + 2000 + 3000 = 6000 < 6500: nothing stays locked.
    auto before = pool.stats();
    assert_true(before.ok());
    auto short_lock = pool.lock_for_job(12, 6500, kNow);
    assert_true(short_lock.ok());
    assert_true(short_lock->empty());
    auto none = pool.locked_by(12);
    assert_true(none.ok());
    assert_true(none->empty());
    auto after = pool.stats();
    assert_true(after.ok());
    assert_int_equal(after->available.count, 3);
    assert_int_equal(after->available.total_satoshis, 6000);
    assert_int_equal(after->locked.count, 2);

    // 6000 exactly: all three.
    auto all = pool.lock_for_job(12, 6000, kNow);
    assert_true(all.ok());
    assert_int_equal(all->size(), 3);
    assert_int_equal(sum(*all), 6000);
    auto empty_pool = pool.lock_for_job(13, 1, kNow);
    assert_true(empty_pool.ok());
    assert_true(empty_pool->empty());
    assert_errc(pool.lock_for_job(0, 1, kNow), Errc::invalid_argument);
    print_message("lock: 8500 -> 5000+4000 (largest first); 6500 from 6000 -> empty, nothing left locked; "
                  "6000 -> all three; empty pool -> empty\n");
}

void version_guard(void **)
{
    Db db = connect_app();
    reset(db);
    UtxoPool pool(db);
    const uint64_t id = add(pool, 1, 4000);
    const char *lock_sql = "UPDATE utxos SET status = 'locked', locked_by = ?, locked_ms = ?, version = version + 1 "
                           "WHERE id = ? AND version = ? AND status = 'available'";
    auto first = db.execute(lock_sql, {int64_t{21}, kNow, int64_t(id), int64_t{0}});
    assert_true(first.ok());
    assert_int_equal(*first, 1);
    // A second writer that read version 0 updates nothing.
    auto stale = db.execute(lock_sql, {int64_t{22}, kNow, int64_t(id), int64_t{0}});
    assert_true(stale.ok());
    assert_int_equal(*stale, 0);
    auto row = db.query("SELECT locked_by, version FROM utxos WHERE id = ?", {int64_t(id)});
    assert_true(row.ok());
    assert_string_equal((*row)[0][0]->c_str(), "21");
    assert_string_equal((*row)[0][1]->c_str(), "1");

    // The pool's own transitions re-read after an outside change of version.
    assert_true(db.execute("UPDATE utxos SET version = version + 5 WHERE id = ?", {int64_t(id)}).ok());
    auto n = pool.unlock(21);
    assert_true(n.ok());
    assert_int_equal(*n, 1);
    assert_string_equal(status_of(db, id).c_str(), "available");
    // Nobody else's lock is touched by unlock/mark_spent of another job.
    auto got = pool.lock_for_job(23, 1, kNow);
    assert_true(got.ok() && got->size() == 1);
    auto other = pool.unlock(24);
    assert_true(other.ok());
    assert_int_equal(*other, 0);
    auto other2 = pool.mark_spent(24, txid_for(9));
    assert_true(other2.ok());
    assert_int_equal(*other2, 0);
    assert_string_equal(status_of(db, id).c_str(), "locked");
    print_message("version guard: stale version -> 0 rows, winner kept; unlock re-reads after an outside "
                  "version bump; other jobs' unlock/mark_spent touch nothing\n");
}

void spend_and_unlock(void **)
{
    Db db = connect_app();
    reset(db);
    UtxoPool pool(db);
    for (uint64_t i = 1; i <= 4; ++i) add(pool, i, 1000);
    auto a = pool.lock_for_job(31, 2500, kNow);  // three of them
    assert_true(a.ok());
    assert_int_equal(a->size(), 3);
    auto b = pool.lock_for_job(32, 1000, kNow);
    assert_true(b.ok());
    assert_int_equal(b->size(), 1);

    const std::string spent_txid = txid_for(77);
    assert_errc(pool.mark_spent(31, "nothex"), Errc::invalid_argument);
    auto n = pool.mark_spent(31, spent_txid);
    assert_true(n.ok());
    assert_int_equal(*n, 3);
    for (const Utxo &u : *a) {
        auto r = db.query("SELECT status, spent_txid, locked_by FROM utxos WHERE id = ?", {int64_t(u.id)});
        assert_true(r.ok());
        assert_string_equal((*r)[0][0]->c_str(), "spent");
        assert_string_equal((*r)[0][1]->c_str(), spent_txid.c_str());
        assert_string_equal((*r)[0][2]->c_str(), "31");
    }
    auto again = pool.mark_spent(31, spent_txid);
    assert_true(again.ok());
    assert_int_equal(*again, 0);
    // Spent outputs are never unlocked.
    auto un31 = pool.unlock(31);
    assert_true(un31.ok());
    assert_int_equal(*un31, 0);

    auto un = pool.unlock(32);
    assert_true(un.ok());
    assert_int_equal(*un, 1);
    auto r = db.query("SELECT status, locked_by, locked_ms FROM utxos WHERE id = ?", {int64_t((*b)[0].id)});
    assert_true(r.ok());
    assert_string_equal((*r)[0][0]->c_str(), "available");
    assert_false((*r)[0][1].has_value());
    assert_false((*r)[0][2].has_value());
    auto st = pool.stats();
    assert_true(st.ok());
    assert_int_equal(st->spent.count, 3);
    assert_int_equal(st->available.count, 1);
    assert_int_equal(st->locked.count, 0);
    print_message("mark_spent: 3 locked -> spent with txid and job kept, idempotent; unlock frees "
                  "locked_by/locked_ms, never touches spent rows\n");
}

void reap_by_step(void **)
{
    Db db = connect_app();
    reset(db);
    UtxoPool pool(db);
    struct Case {
        const char *step;  // nullptr: the job row is gone
        bool old;
        bool freed;
        bool leased = false;  // a worker holds the job now (it may be signing)
    };
    const Case cases[] = {
        {"queued", true, true},      {"inputs_locked", true, true}, {"failed", true, true},
        {nullptr, true, true},       {"signed", true, false},       {"broadcast", true, false},
        {"done", true, false},       {"queued", false, false},      {"inputs_locked", false, false},
        {"queued", true, false, true}, {"inputs_locked", true, false, true},
    };
    std::vector<uint64_t> utxo_ids;
    int n = 0;
    for (const Case &c : cases) {
        ++n;
        const uint64_t utxo = add(pool, 100 + n, 1000 * n);
        utxo_ids.push_back(utxo);
        const uint64_t job = c.step ? insert_job(db, c.step, n) : 900000 + n;
        if (c.leased)
            assert_true(db.execute("UPDATE jobs SET lease_owner = 'w', lease_until_ms = ? WHERE id = ?",
                                   {kNow + kMinute, int64_t(job)})
                            .ok());
        const int64_t when = c.old ? kNow - 30 * kMinute : kNow - 2 * kMinute;
        auto r = db.execute("UPDATE utxos SET status = 'locked', locked_by = ?, locked_ms = ?, "
                            "version = version + 1 WHERE id = ?",
                            {int64_t(job), when, int64_t(utxo)});
        assert_true(r.ok());
    }
    add(pool, 999, 5, "available");  // not locked: never counted

    auto freed = pool.reap(kNow - 10 * kMinute, kNow);
    assert_true(freed.ok());
    assert_int_equal(*freed, 4);
    for (size_t i = 0; i < utxo_ids.size(); ++i) {
        const std::string want = cases[i].freed ? "available" : "locked";
        if (status_of(db, utxo_ids[i]) != want)
            fail_msg("case %zu (%s, old=%d, leased=%d): status %s, want %s", i,
                     cases[i].step ? cases[i].step : "no job", int(cases[i].old), int(cases[i].leased),
                     status_of(db, utxo_ids[i]).c_str(), want.c_str());
    }
    auto twice = pool.reap(kNow - 10 * kMinute, kNow);
    assert_true(twice.ok());
    assert_int_equal(*twice, 0);
    print_message("reap: old locks of queued / inputs_locked / failed / vanished jobs freed (4); signed, "
                  "broadcast, done, young locks and those of a job whose lease runs kept\n");
}

void stats_sums(void **)
{
    Db db = connect_app();
    reset(db);
    UtxoPool pool(db);
    auto empty = pool.stats();
    assert_true(empty.ok());
    for (const PoolBucket *b : {&empty->unconfirmed, &empty->available, &empty->locked, &empty->spent}) {
        assert_int_equal(b->count, 0);
        assert_int_equal(b->total_satoshis, 0);
    }
    add(pool, 1, 100, "unconfirmed");
    add(pool, 2, 200, "unconfirmed");
    add(pool, 3, 1000);
    add(pool, 4, 2000);
    add(pool, 5, 4000);
    const uint64_t big = add(pool, 6, 3'000'000'000'000ULL);  // beyond 32 bits
    auto l = pool.lock_for_job(41, 3500, kNow);
    assert_true(l.ok() && l->size() == 1);
    auto l2 = pool.lock_for_job(42, 1000, kNow);
    assert_true(l2.ok() && l2->size() == 1);
    assert_true(pool.mark_spent(42, txid_for(5)).ok());
    auto st = pool.stats();
    assert_true(st.ok());
    assert_int_equal(st->unconfirmed.count, 2);
    assert_int_equal(st->unconfirmed.total_satoshis, 300);
    assert_int_equal(st->locked.count, 1);
    assert_int_equal(st->locked.total_satoshis, 4000);
    assert_int_equal(st->spent.count, 1);
    assert_int_equal(st->spent.total_satoshis, 1000);
    assert_int_equal(st->available.count, 2);
    assert_int_equal(st->available.total_satoshis, 2000 + 3'000'000'000'000ULL);

    // --exclusive: everything available/unconfirmed except the kept one is spent; locked stays.
    auto others = pool.mark_others_spent(big);
    assert_true(others.ok());
    assert_int_equal(*others, 3);
    assert_errc(pool.mark_others_spent(987654321), Errc::not_found);
    st = pool.stats();
    assert_true(st.ok());
    assert_int_equal(st->available.count, 1);
    assert_int_equal(st->unconfirmed.count, 0);
    assert_int_equal(st->locked.count, 1);
    assert_int_equal(st->spent.count, 4);
    print_message("stats: all four buckets present (zero when empty), counts and 64-bit sums; "
                  "mark_others_spent keeps the chosen and the locked ones\n");
}

// ---- concurrency -----------------------------------------------------------

constexpr int kProcs = 8;
constexpr int kRounds = 50;
constexpr int kPoolSize = 20;

// Shared between the forked children: owner[i] is the job holding UTXO i.
struct Shared {
    uint64_t owner[kPoolSize + 1];
    uint64_t ids[kPoolSize + 1];
    int violations;
    int locks;
    int empties;
};

int slot_of(const Shared *sh, uint64_t id)
{
    for (int i = 0; i < kPoolSize; ++i)
        if (sh->ids[i] == id) return i;
    return -1;
}

// Runs in a forked child: no cmocka asserts here, the result is the exit code.
int child_main(Shared *sh, int index)
{
    const uint64_t job = 5000 + index;
    auto db = Db::connect(pp::test::servers().app);
    if (!db) return 10;
    UtxoPool pool(*db);
    std::mt19937_64 rng(job);
    int done = 0;
    for (int attempt = 0; done < kRounds && attempt < kRounds * 40; ++attempt) {
        // Up to ~60000: often several inputs, sometimes a shortfall under contention.
        const uint64_t need = 500 + rng() % 60000;
        auto got = pool.lock_for_job(job, need, kNow);
        if (!got) return 11;
        if (got->empty()) {
            __atomic_add_fetch(&sh->empties, 1, __ATOMIC_SEQ_CST);
            std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 5));
            continue;
        }
        if (sum(*got) < need) return 12;
        // Independent of the DB: claim each slot; a taken slot is a double lock.
        for (const Utxo &u : *got) {
            const int s = slot_of(sh, u.id);
            if (s < 0) return 13;
            uint64_t expected = 0;
            if (!__atomic_compare_exchange_n(&sh->owner[s], &expected, job, false, __ATOMIC_SEQ_CST,
                                             __ATOMIC_SEQ_CST))
                __atomic_add_fetch(&sh->violations, 1, __ATOMIC_SEQ_CST);
        }
        // And from the DB: every id we hold is locked by us, and every row
        // locked by us is one we were given.
        auto mine = db->query("SELECT id, status, locked_by FROM utxos WHERE locked_by = ? AND status = 'locked'",
                              {int64_t(job)});
        if (!mine || mine->size() != got->size()) return 14;
        for (const Utxo &u : *got) {
            auto r = db->query("SELECT COUNT(*), COUNT(DISTINCT locked_by), MIN(locked_by) FROM utxos "
                               "WHERE id = ? AND status = 'locked'",
                               {int64_t(u.id)});
            if (!r || r->size() != 1 || *(*r)[0][0] != "1" || *(*r)[0][1] != "1" ||
                *(*r)[0][2] != std::to_string(job))
                return 15;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
        for (const Utxo &u : *got) {
            const int s = slot_of(sh, u.id);
            uint64_t expected = job;
            if (!__atomic_compare_exchange_n(&sh->owner[s], &expected, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
                __atomic_add_fetch(&sh->violations, 1, __ATOMIC_SEQ_CST);
        }
        auto n = pool.unlock(job);
        if (!n || *n != got->size()) return 16;
        __atomic_add_fetch(&sh->locks, 1, __ATOMIC_SEQ_CST);
        ++done;
    }
    return done == kRounds ? 0 : 17;
}

// A quarantined output (the chain did not confirm it unspent) keeps its
// reason, counts in stats, and is never selected, unlocked or reaped again.
void quarantine_is_never_selected(void **)
{
    Db db = connect_app();
    reset(db);
    UtxoPool pool(db);
    const uint64_t small = add(pool, 1, 1000);
    const uint64_t other = add(pool, 2, 5000);
    auto l = pool.lock_for_job(51, 900, kNow);
    assert_true(l.ok() && l->size() == 1 && (*l)[0].id == small);
    auto l2 = pool.lock_for_job(52, 900, kNow);
    assert_true(l2.ok() && l2->size() == 1 && (*l2)[0].id == other);

    // Only the job that holds it may quarantine or release it.
    auto wrong = pool.quarantine(52, small, "x");
    assert_true(wrong.ok());
    assert_false(*wrong);
    auto q = pool.quarantine(51, small, "not unspent on chain after: chain rejected the transaction");
    assert_true(q.ok() && *q);
    auto r = pool.release(52, other);
    assert_true(r.ok() && *r);
    auto r_again = pool.release(52, other);
    assert_true(r_again.ok());
    assert_false(*r_again);
    assert_string_equal(status_of(db, small).c_str(), "quarantined");
    assert_string_equal(status_of(db, other).c_str(), "available");
    auto reason = db.query("SELECT quarantine_reason, locked_by FROM utxos WHERE id = ?", {int64_t(small)});
    assert_true(reason.ok());
    assert_string_equal((*reason)[0][0]->c_str(), "not unspent on chain after: chain rejected the transaction");
    assert_string_equal((*reason)[0][1]->c_str(), "51");

    // The small one would be the best fit, but it is quarantined.
    auto pick = pool.lock_for_job(53, 900, kNow);
    assert_true(pick.ok() && pick->size() == 1 && (*pick)[0].id == other);
    assert_true(pool.unlock(53).ok());
    auto none = pool.lock_for_job(54, 5500, kNow);  // only the two together would do
    assert_true(none.ok());
    assert_int_equal(none->size(), 0);
    auto unlocked = pool.unlock(51);
    assert_true(unlocked.ok());
    assert_int_equal(*unlocked, 0);
    auto reaped = pool.reap(kNow + 100 * kMinute, kNow + 100 * kMinute);
    assert_true(reaped.ok());
    assert_string_equal(status_of(db, small).c_str(), "quarantined");

    auto st = pool.stats();
    assert_true(st.ok());
    assert_int_equal(st->quarantined.count, 1);
    assert_int_equal(st->quarantined.total_satoshis, 1000);
    assert_int_equal(st->available.count, 1);
    print_message("quarantine: reason and job kept, never selected, unlocked or reaped; counted in stats\n");
}

// 0003 is re-runnable: applying it again (as after a run cut short) changes
// nothing and fails nothing.
void quarantine_migration_reruns(void **)
{
    Db db = connect_app();
    std::ifstream f(pp::test::servers().source_root + "/sql/0003_quarantine.sql");
    assert_true(f.good());
    std::stringstream text;
    text << f.rdbuf();
    assert_true(db.exec_script(text.str()).ok());
    assert_true(db.exec_script(text.str()).ok());
    auto col = db.query("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                        "AND TABLE_NAME = 'utxos' AND COLUMN_NAME = 'quarantine_reason'");
    assert_true(col.ok());
    assert_string_equal((*col)[0][0]->c_str(), "1");
}

void concurrent_jobs(void **)
{
    Db db = connect_app();
    reset(db);
    UtxoPool pool(db);
    void *mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(mem != MAP_FAILED);
    auto *sh = static_cast<Shared *>(mem);
    std::memset(sh, 0, sizeof(Shared));
    uint64_t total = 0;
    for (int i = 0; i < kPoolSize; ++i) {
        sh->ids[i] = add(pool, 2000 + i, 1000 * (i + 1));
        total += 1000 * (i + 1);
    }
    std::vector<pid_t> kids;
    for (int i = 0; i < kProcs; ++i) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            // _exit: the inherited atexit cleanup would kill mariadbd.
            _exit(child_main(sh, i));
        }
        kids.push_back(pid);
    }
    std::vector<int> codes;
    for (pid_t pid : kids) {
        int status = 0;
        waitpid(pid, &status, 0);
        codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 100 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
    }
    const int violations = sh->violations, locks = sh->locks, empties = sh->empties;
    munmap(mem, sizeof(Shared));
    for (int i = 0; i < kProcs; ++i)
        if (codes[i] != 0) fail_msg("child %d exited with %d", i, codes[i]);
    assert_int_equal(violations, 0);
    assert_int_equal(locks, kProcs * kRounds);

    auto st = pool.stats();
    assert_true(st.ok());
    assert_int_equal(st->available.count, kPoolSize);
    assert_int_equal(st->available.total_satoshis, total);
    assert_int_equal(st->locked.count, 0);
    auto stray = db.query("SELECT COUNT(*) FROM utxos WHERE locked_by IS NOT NULL OR locked_ms IS NOT NULL");
    assert_true(stray.ok());
    assert_string_equal((*stray)[0][0]->c_str(), "0");
    print_message("concurrency: %d processes x %d lock/unlock rounds on %d UTXOs (%d shortfalls retried): "
                  "never one UTXO held by two jobs, pool all available at the end\n",
                  kProcs, kRounds, kPoolSize, empties);
}

}  // namespace

int main()
{
    const CMUnitTest tests[] = {
        cmocka_unit_test(add_and_duplicate),   cmocka_unit_test(lock_smallest_sufficient),
        cmocka_unit_test(lock_multi_and_shortfall), cmocka_unit_test(version_guard),
        cmocka_unit_test(spend_and_unlock),    cmocka_unit_test(reap_by_step),
        cmocka_unit_test(stats_sums),          cmocka_unit_test(concurrent_jobs),
        cmocka_unit_test(quarantine_is_never_selected), cmocka_unit_test(quarantine_migration_reruns),
    };
    return cmocka_run_group_tests_name("utxo_pool", tests, group_setup, group_teardown);
}

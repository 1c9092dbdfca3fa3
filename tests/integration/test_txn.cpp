// SPDX-License-Identifier: MIT
// Transactions (store/txn.h, store/db.h) against a REAL private mariadbd:
//   - a real deadlock between two connections (this process and a forked
//     child, two rows locked in opposite order): the victim's statement is
//     Errc::deadlock, and so is every later statement of that transaction,
//     which must never autocommit (issue 7, defect 2 at the store level);
//   - a lock-wait timeout is the same error with the same guarantee;
//   - with_txn runs the whole function again after a deadlock and commits
//     exactly once; other errors end it at once; retries are bounded;
//   - Txn rolls back in its destructor, commit() reports what happened,
//     a COMMIT on a lost connection is never success.
// The child that takes the other side of a deadlock writes more rows first,
// so InnoDB (which rolls back the transaction that changed fewer rows)
// picks this process as the victim. Synchronisation is by pipes, not sleeps.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fixture.h"
#include "store/db.h"
#include "store/row.h"
#include "store/txn.h"
#include "vectors.h"  // cmocka includes, after every other header

using namespace pp;
using namespace pp::store;

namespace {

using pp::test::connect_app;
using pp::test::group_teardown;

// Rows the other side writes before its deadlocking UPDATE, so it is heavier.
constexpr int kHeavyRows = 200;

int group_setup(void **)
{
    if (!test::setup_mariadb("/tmp/pp-txn-XXXXXX")) return -1;
    if (!test::create_app_databases({"pp_txn"})) return -1;
    auto db = Db::connect(test::servers().app);
    if (!db) return -1;
    auto r = db->exec_script(
        "CREATE TABLE pair (id INT NOT NULL PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB;"
        "CREATE TABLE marks (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, who VARCHAR(16) NOT NULL) ENGINE=InnoDB;"
        "CREATE TABLE ballast (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB;");
    if (!r) return -1;
    print_message("private mariadbd under %s\n", test::servers().dir.c_str());
    return 0;
}

// Every test starts from rows 1 and 2 at v = 0 and no marks.
int clean(void **)
{
    Db db = connect_app();
    if (!db.execute("DELETE FROM pair")) return -1;
    if (!db.execute("DELETE FROM marks")) return -1;
    if (!db.execute("DELETE FROM ballast")) return -1;
    if (!db.execute("INSERT INTO pair (id, v) VALUES (1, 0), (2, 0)")) return -1;
    return 0;
}

int64_t value_of(Db &db, int64_t id)
{
    auto rows = db.query("SELECT v FROM pair WHERE id = ?", {id});
    assert_true(rows.ok());
    assert_int_equal(rows->size(), 1);
    auto v = col_int<int64_t>((*rows)[0], 0);
    assert_true(v.ok());
    return *v;
}

int64_t marks_of(Db &db, const char *who)
{
    auto rows = db.query("SELECT COUNT(*) FROM marks WHERE who = ?", {std::string_view(who)});
    assert_true(rows.ok());
    auto n = col_int<int64_t>((*rows)[0], 0);
    assert_true(n.ok());
    return *n;
}

bool put_byte(int fd, char c) { return write(fd, &c, 1) == 1; }
char get_byte(int fd)
{
    char c = 0;
    return read(fd, &c, 1) == 1 ? c : '\0';
}

// The other side of a deadlock, in a forked child with its own connection:
// writes ballast, locks row 2, says 'r', waits for 'g', then locks row 1
// (which this process holds), marks "B" and commits. Reports one byte:
// 'c' committed, 'd' it was the victim after all, 'e' anything else.
struct Rival {
    pid_t pid = -1;
    int to_child = -1, from_child = -1;
};

[[noreturn]] void rival_main(int in, int out)
{
    auto db = Db::connect(test::servers().app);
    if (!db) _exit(3);
    auto body = [&]() -> char {
        if (!db->begin()) return 'e';
        for (int i = 0; i < kHeavyRows; ++i)
            if (!db->execute("INSERT INTO ballast (n) VALUES (?)", {int64_t(i)})) return 'e';
        if (!db->execute("UPDATE pair SET v = v + 1 WHERE id = 2")) return 'e';
        if (!put_byte(out, 'r') || get_byte(in) != 'g') return 'e';
        auto second = db->execute("UPDATE pair SET v = v + 1 WHERE id = 1");
        if (!second) return second.error() == Errc::deadlock ? 'd' : 'e';
        if (!db->execute("INSERT INTO marks (who) VALUES ('B')")) return 'e';
        return db->commit() ? 'c' : 'e';
    };
    const char outcome = body();
    (void)db->rollback();
    put_byte(out, outcome);
    _exit(0);  // never exit(): the fixture's atexit cleanup belongs to the parent
}

Rival start_rival()
{
    int down[2], up[2];
    assert_int_equal(pipe(down), 0);
    assert_int_equal(pipe(up), 0);
    Rival r;
    r.pid = fork();
    assert_true(r.pid >= 0);
    if (r.pid == 0) {
        close(down[1]);
        close(up[0]);
        rival_main(down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    r.to_child = down[1];
    r.from_child = up[0];
    assert_int_equal(get_byte(r.from_child), 'r');  // the child holds row 2
    return r;
}

// Waits for the child's outcome byte and its exit.
char finish_rival(Rival &r)
{
    const char outcome = get_byte(r.from_child);
    int status = 0;
    assert_int_equal(waitpid(r.pid, &status, 0), r.pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(r.to_child);
    close(r.from_child);
    return outcome;
}

// ---- (a) the deadlock victim can write nothing more --------------------

void deadlock_victim_never_autocommits(void **)
{
    Db db = connect_app();
    Rival rival = start_rival();
    auto txn = Txn::begin(db);
    assert_true(txn.ok());
    assert_true(txn->db().execute("UPDATE pair SET v = v + 1 WHERE id = 1").ok());
    assert_true(put_byte(rival.to_child, 'g'));
    // Waits for row 2; the child then waits for row 1: a cycle. InnoDB rolls
    // back the lighter transaction, ours.
    auto blocked = txn->db().execute("UPDATE pair SET v = v + 1 WHERE id = 2");
    assert_errc(blocked, Errc::deadlock);
    // The server is outside any transaction now: this INSERT would commit
    // on its own if it reached the server.
    auto after = txn->db().execute("INSERT INTO marks (who) VALUES ('A')");
    assert_errc(after, Errc::deadlock);
    auto read = txn->db().query("SELECT v FROM pair WHERE id = 1");
    assert_errc(read, Errc::deadlock);
    auto c = txn->commit();
    assert_errc(c, Errc::deadlock);
    assert_false(txn->open());
    assert_int_equal(finish_rival(rival), 'c');

    Db check = connect_app();
    assert_int_equal(marks_of(check, "A"), 0);
    assert_int_equal(marks_of(check, "B"), 1);
    assert_int_equal(value_of(check, 1), 1);  // the child's increments only
    assert_int_equal(value_of(check, 2), 1);
    // The same connection works again once the transaction is over.
    assert_true(db.execute("INSERT INTO marks (who) VALUES ('later')").ok());
    assert_int_equal(marks_of(check, "later"), 1);
    print_message("deadlock: victim got Errc::deadlock on its statement, the next ones and COMMIT; nothing of it "
                  "committed\n");
}

// A lock-wait timeout rolls back only the statement on the server, but the
// transaction is just as finished for us: later statements fail too.
void lock_wait_timeout_is_deadlock(void **)
{
    Db holder = connect_app();
    Db waiter = connect_app();
    assert_true(waiter.execute("SET SESSION innodb_lock_wait_timeout = 1").ok());
    assert_true(holder.begin().ok());
    assert_true(holder.execute("UPDATE pair SET v = 10 WHERE id = 1").ok());

    auto txn = Txn::begin(waiter);
    assert_true(txn.ok());
    assert_true(txn->db().execute("INSERT INTO marks (who) VALUES ('W')").ok());
    auto wait = txn->db().execute("UPDATE pair SET v = 20 WHERE id = 1");
    assert_errc(wait, Errc::deadlock);
    auto after = txn->db().execute("INSERT INTO marks (who) VALUES ('W2')");
    assert_errc(after, Errc::deadlock);
    assert_errc(txn->commit(), Errc::deadlock);
    // The refused COMMIT ended the transaction on the server too: the
    // waiter's own session no longer sees its insert, and it can work again.
    assert_int_equal(marks_of(waiter, "W"), 0);
    assert_true(waiter.execute("INSERT INTO marks (who) VALUES ('W3')").ok());
    assert_true(holder.commit().ok());

    Db check = connect_app();
    assert_int_equal(marks_of(check, "W"), 0);
    assert_int_equal(marks_of(check, "W2"), 0);
    assert_int_equal(marks_of(check, "W3"), 1);
    assert_int_equal(value_of(check, 1), 10);
}

// ---- (b) with_txn re-runs the whole function ---------------------------

void with_txn_reruns_after_deadlock(void **)
{
    Db db = connect_app();
    Rival rival = start_rival();
    const uint64_t retries_before = txn_retries();
    int runs = 0;
    auto r = with_txn(db, [&](Txn &t) -> Result<int> {
        ++runs;
        if (auto u = t.db().execute("UPDATE pair SET v = v + 1 WHERE id = 1"); !u) return u.error();
        if (runs == 1 && !put_byte(rival.to_child, 'g')) return Errc::internal;
        if (auto u = t.db().execute("UPDATE pair SET v = v + 1 WHERE id = 2"); !u) return u.error();
        if (auto m = t.db().execute("INSERT INTO marks (who) VALUES ('A')"); !m) return m.error();
        return runs;
    });
    assert_true(r.ok());
    assert_int_equal(*r, 2);
    assert_int_equal(runs, 2);
    assert_int_equal(txn_retries() - retries_before, 1);
    assert_int_equal(finish_rival(rival), 'c');

    Db check = connect_app();
    assert_int_equal(marks_of(check, "A"), 1);  // committed exactly once
    assert_int_equal(marks_of(check, "B"), 1);
    assert_int_equal(value_of(check, 1), 2);    // the child's run and our second one
    assert_int_equal(value_of(check, 2), 2);
    print_message("with_txn: ran twice (one deadlock), committed once\n");
}

void with_txn_other_errors_end_it(void **)
{
    Db db = connect_app();
    int runs = 0;
    auto r = with_txn(db, [&](Txn &t) -> Result<int> {
        ++runs;
        if (auto m = t.db().execute("INSERT INTO marks (who) VALUES ('X')"); !m) return m.error();
        return Errc::conflict;
    });
    assert_errc(r, Errc::conflict);
    assert_int_equal(runs, 1);
    assert_int_equal(marks_of(db, "X"), 0);  // rolled back

    // Every run aborted: bounded, and the last error is returned.
    runs = 0;
    auto d = with_txn(
        db,
        [&](Txn &t) -> Result<int> {
            ++runs;
            if (auto m = t.db().execute("INSERT INTO marks (who) VALUES ('Y')"); !m) return m.error();
            return Errc::deadlock;
        },
        TxnRetry{3, 0, 0});
    assert_errc(d, Errc::deadlock);
    assert_int_equal(runs, 3);
    assert_int_equal(marks_of(db, "Y"), 0);

    auto ok = with_txn(db, [&](Txn &t) -> Result<void> {
        auto m = t.db().execute("INSERT INTO marks (who) VALUES ('Z')");
        if (!m) return m.error();
        return {};
    });
    assert_true(ok.ok());
    assert_int_equal(marks_of(db, "Z"), 1);
}

// A connection killed under a transaction (a server restart looks the same):
// the server rolled back, so with_txn runs fn once more on a new connection;
// a second loss is returned.
void with_txn_reruns_once_after_a_lost_connection(void **)
{
    Db db = connect_app();
    Db root = [] {
        auto r = Db::connect(test::servers().root);
        if (!r) fail_msg("connect as root failed");
        return std::move(*r);
    }();
    auto kill_own = [&](Txn &t) {
        auto id = t.db().query("SELECT CONNECTION_ID()");
        assert_true(id.ok());
        auto conn = col_int<int64_t>((*id)[0], 0);
        assert_true(conn.ok());
        // KILL takes no placeholders; the id is our own integer.
        assert_true(root.exec_script("KILL CONNECTION " + std::to_string(*conn)).ok());
    };
    int runs = 0;
    auto r = with_txn(db, [&](Txn &t) -> Result<int> {
        ++runs;
        if (auto m = t.db().execute("INSERT INTO marks (who) VALUES ('L')"); !m) return m.error();
        if (runs == 1) kill_own(t);
        if (auto m = t.db().execute("INSERT INTO marks (who) VALUES ('L')"); !m) return m.error();
        return runs;
    });
    assert_true(r.ok());
    assert_int_equal(*r, 2);
    assert_int_equal(marks_of(db, "L"), 2);  // the second run's two rows, none of the first's

    runs = 0;
    auto twice = with_txn(db, [&](Txn &t) -> Result<int> {
        ++runs;
        kill_own(t);
        if (auto m = t.db().execute("INSERT INTO marks (who) VALUES ('M')"); !m) return m.error();
        return runs;
    });
    assert_errc(twice, Errc::unavailable);
    assert_int_equal(runs, 2);
    assert_int_equal(marks_of(db, "M"), 0);
}

// ---- (c) Txn itself -----------------------------------------------------

void txn_destructor_rolls_back(void **)
{
    Db db = connect_app();
    {
        auto t = Txn::begin(db);
        assert_true(t.ok());
        assert_true(t->open());
        assert_true(t->db().execute("INSERT INTO marks (who) VALUES ('dtor')").ok());
        Db other = connect_app();
        assert_int_equal(marks_of(other, "dtor"), 0);  // not visible before commit
    }
    assert_int_equal(marks_of(db, "dtor"), 0);

    // Moving a Txn hands the rollback over; the moved-from one does nothing.
    {
        auto t = Txn::begin(db);
        assert_true(t.ok());
        assert_true(t->db().execute("INSERT INTO marks (who) VALUES ('moved')").ok());
        Txn owner(std::move(*t));
        assert_false(t->open());
        assert_true(owner.open());
    }
    assert_int_equal(marks_of(db, "moved"), 0);

    auto t = Txn::begin(db);
    assert_true(t.ok());
    assert_true(t->db().execute("INSERT INTO marks (who) VALUES ('explicit')").ok());
    t->rollback();
    t->rollback();  // idempotent
    assert_false(t->open());
    assert_int_equal(marks_of(db, "explicit"), 0);
}

void txn_commit_result(void **)
{
    Db db = connect_app();
    auto t = Txn::begin(db);
    assert_true(t.ok());
    assert_true(t->db().execute("INSERT INTO marks (who) VALUES ('kept')").ok());
    assert_true(t->commit().ok());
    assert_false(t->open());
    assert_errc(t->commit(), Errc::invalid_argument);  // nothing open any more
    Db other = connect_app();
    assert_int_equal(marks_of(other, "kept"), 1);

    // A connection lost inside the transaction: COMMIT is never success, and
    // the server rolled the work back with the session.
    auto lost = Txn::begin(db);
    assert_true(lost.ok());
    assert_true(lost->db().execute("INSERT INTO marks (who) VALUES ('lost')").ok());
    auto id = lost->db().query("SELECT CONNECTION_ID()");
    assert_true(id.ok());
    auto conn = col_int<int64_t>((*id)[0], 0);
    assert_true(conn.ok());
    Db root = [] {
        auto r = Db::connect(test::servers().root);
        if (!r) fail_msg("connect as root failed");
        return std::move(*r);
    }();
    // KILL takes no placeholders; the id is our own integer.
    assert_true(root.exec_script("KILL CONNECTION " + std::to_string(*conn)).ok());
    auto after = lost->db().execute("INSERT INTO marks (who) VALUES ('lost2')");
    assert_errc(after, Errc::unavailable);
    assert_errc(lost->commit(), Errc::unavailable);
    lost->rollback();
    assert_int_equal(marks_of(other, "lost"), 0);
    assert_int_equal(marks_of(other, "lost2"), 0);
    assert_true(db.execute("INSERT INTO marks (who) VALUES ('again')").ok());  // reconnected
    assert_int_equal(marks_of(other, "again"), 1);
}

}  // namespace

int main()
{
    signal(SIGPIPE, SIG_IGN);
    const CMUnitTest tests[] = {
        cmocka_unit_test_setup(deadlock_victim_never_autocommits, clean),
        cmocka_unit_test_setup(lock_wait_timeout_is_deadlock, clean),
        cmocka_unit_test_setup(with_txn_reruns_after_deadlock, clean),
        cmocka_unit_test_setup(with_txn_other_errors_end_it, clean),
        cmocka_unit_test_setup(with_txn_reruns_once_after_a_lost_connection, clean),
        cmocka_unit_test_setup(txn_destructor_rolls_back, clean),
        cmocka_unit_test_setup(txn_commit_result, clean),
    };
    return cmocka_run_group_tests_name("txn", tests, group_setup, group_teardown);
}

// SPDX-License-Identifier: MIT
// Store integration test against a REAL private mariadbd that this program
// starts in a temp dir (unix sockets only, no TCP ports), then kills and
// removes again: prepared statements with every Param type, duplicate keys,
// version guards, multi-MB values, killed connections, transactions,
// migrations, and an outage with transparent reconnects. (memcached:
// test_cache.cpp.)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"
#include "vectors.h"  // cmocka includes

#include "store/db.h"
#include "store/migrate.h"
#include "store/row.h"

using namespace pp;
using namespace pp::store;
namespace fs = std::filesystem;

namespace {

pp::test::Servers &g_env = pp::test::servers();

using pp::test::start_mariadbd;
using pp::test::stop;
using pp::test::connect_app;
using pp::test::group_teardown;

int group_setup(void **)
{
    if (!pp::test::setup_mariadb("/tmp/pp-store-XXXXXX")) return -1;
    if (!pp::test::create_app_databases({"pp_test", "pp_mig", "pp_mig2"})) return -1;
    print_message("private mariadbd running under %s\n", g_env.dir.c_str());
    return 0;
}

void create_items(Db &db)
{
    auto r = db.exec_script(
        "DROP TABLE IF EXISTS items;"
        "CREATE TABLE items ("
        " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " name VARCHAR(64) NOT NULL UNIQUE,"
        " n BIGINT NULL,"
        " note TEXT NULL,"
        " body MEDIUMTEXT NULL,"
        " raw LONGBLOB NULL,"
        " version INT UNSIGNED NOT NULL DEFAULT 0"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;");
    assert_true(r.ok());
}

// ---- MariaDB -----------------------------------------------------------

void db_connect_errors(void **)
{
    DbConfig bad = g_env.app;
    bad.password = "wrong";
    unsigned err = 0;
    auto r = Db::connect(bad, &err);
    assert_false(r.ok());
    assert_errc(r, Errc::invalid_argument);
    assert_int_equal(err, 1045);  // ER_ACCESS_DENIED_ERROR

    DbConfig nowhere = g_env.app;
    nowhere.unix_socket = g_env.dir + "/no-such.sock";
    auto r2 = Db::connect(nowhere, &err);
    assert_errc(r2, Errc::unavailable);

    DbConfig tcp_closed;  // TCP to a port nothing listens on
    tcp_closed.port = 1;
    tcp_closed.user = "pp";
    auto r3 = Db::connect(tcp_closed);
    assert_errc(r3, Errc::unavailable);
    print_message("connect: wrong password -> invalid_argument (1045); missing socket, closed port -> unavailable\n");
}

void db_round_trip(void **)
{
    Db db = connect_app();
    create_items(db);

    const std::string with_nul("a\0b", 3);
    const std::string utf8 = "caf\xc3\xa9 \xf0\x9f\x98\x80";  // café + 4-byte emoji (needs utf8mb4)
    auto ins = db.execute("INSERT INTO items (name, n, note) VALUES (?, ?, ?)",
                          {std::string_view("min"), int64_t{INT64_MIN}, std::string_view(with_nul)});
    assert_true(ins.ok());
    assert_int_equal(*ins, 1);
    auto id1 = db.last_insert_id();
    assert_true(id1.ok());
    assert_true(*id1 > 0);

    ins = db.execute("INSERT INTO items (name, n, note) VALUES (?, ?, ?)",
                     {std::string_view("max"), int64_t{INT64_MAX}, std::string_view(utf8)});
    assert_true(ins.ok());
    ins = db.execute("INSERT INTO items (name, n, note) VALUES (?, ?, ?)",
                     {std::string_view("nulls"), nullptr, nullptr});
    assert_true(ins.ok());
    ins = db.execute("INSERT INTO items (name, n, note) VALUES (?, ?, ?)",
                     {std::string_view("empty"), int64_t{0}, std::string_view("")});
    assert_true(ins.ok());

    auto rows = db.query("SELECT name, n, note, version FROM items WHERE id >= ? ORDER BY id", {int64_t(*id1)});
    assert_true(rows.ok());
    assert_int_equal(rows->size(), 4);
    const auto &r = *rows;
    assert_string_equal(r[0][0]->c_str(), "min");
    assert_string_equal(r[0][1]->c_str(), "-9223372036854775808");
    assert_true(*r[0][2] == with_nul);
    assert_string_equal(r[0][3]->c_str(), "0");
    assert_string_equal(r[1][1]->c_str(), "9223372036854775807");
    assert_true(*r[1][2] == utf8);
    assert_false(r[2][1].has_value());  // NULL -> nullopt
    assert_false(r[2][2].has_value());
    assert_true(r[3][2].has_value());   // '' is not NULL
    assert_true(r[3][2]->empty());

    // A string parameter compared with a string column, no rows -> empty.
    auto none = db.query("SELECT id FROM items WHERE name = ?", {std::string_view("absent")});
    assert_true(none.ok());
    assert_true(none->empty());

    // Wrong parameter count is a contract error, not a server round trip.
    auto bad = db.query("SELECT id FROM items WHERE name = ?", {});
    assert_errc(bad, Errc::invalid_argument);
    auto bad2 = db.execute("DELETE FROM items WHERE id = ?", {int64_t{1}, int64_t{2}});
    assert_errc(bad2, Errc::invalid_argument);

    // A non-id statement reports no insert id.
    auto upd = db.execute("UPDATE items SET n = n WHERE name = ?", {std::string_view("max")});
    assert_true(upd.ok());
    assert_int_equal(*upd, 1);  // CLIENT_FOUND_ROWS: matched, even though unchanged
    assert_errc(db.last_insert_id(), Errc::not_found);

    // SQL errors surface as internal with an errno, and the handle stays usable.
    auto syntax = db.query("SELEC 1");
    assert_errc(syntax, Errc::internal);
    assert_int_equal(db.last_error_number(), 1064);
    auto one = db.query("SELECT 1, NULL, 'x'");
    assert_true(one.ok());
    assert_string_equal((*one)[0][0]->c_str(), "1");
    assert_false((*one)[0][1].has_value());
    print_message("db: INSERT/SELECT with null, int64 min/max, strings with NUL and 4-byte UTF-8, '' vs NULL, "
                  "insert id, param-count mismatch, found-rows, syntax error\n");
}

void db_duplicate_conflict(void **)
{
    Db db = connect_app();
    auto first = db.execute("INSERT INTO items (name) VALUES (?)", {std::string_view("dup")});
    assert_true(first.ok());
    auto again = db.execute("INSERT INTO items (name) VALUES (?)", {std::string_view("dup")});
    assert_errc(again, Errc::conflict);
    assert_int_equal(db.last_error_number(), 1062);
    // The cached statement still works after the conflict.
    auto other = db.execute("INSERT INTO items (name) VALUES (?)", {std::string_view("dup2")});
    assert_true(other.ok());
    print_message("db: duplicate key -> conflict (1062), statement reusable\n");
}

void db_version_guard(void **)
{
    Db db = connect_app();
    auto ins = db.execute("INSERT INTO items (name, n) VALUES (?, ?)", {std::string_view("guarded"), int64_t{5}});
    assert_true(ins.ok());
    auto id = db.last_insert_id();
    assert_true(id.ok());
    const char *guarded = "UPDATE items SET n = ?, version = version + 1 WHERE id = ? AND version = ?";
    auto won = db.execute(guarded, {int64_t{6}, int64_t(*id), int64_t{0}});
    assert_true(won.ok());
    assert_int_equal(*won, 1);
    auto stale = db.execute(guarded, {int64_t{7}, int64_t(*id), int64_t{0}});
    assert_true(stale.ok());
    assert_int_equal(*stale, 0);
    auto rows = db.query("SELECT n, version FROM items WHERE id = ?", {int64_t(*id)});
    assert_true(rows.ok());
    assert_string_equal((*rows)[0][0]->c_str(), "6");
    assert_string_equal((*rows)[0][1]->c_str(), "1");
    print_message("db: version-guarded UPDATE affects 1 row, then 0 on the stale version\n");
}

void db_large_values(void **)
{
    Db db = connect_app();
    std::string text(3 * 1024 * 1024 + 17, '\0');
    for (size_t i = 0; i < text.size(); ++i) text[i] = char('a' + (i * 7) % 26);
    std::string blob(2 * 1024 * 1024, '\0');
    for (size_t i = 0; i < blob.size(); ++i) blob[i] = char(i & 0xff);  // every byte value, NULs included
    auto ins = db.execute("INSERT INTO items (name, body, raw) VALUES (?, ?, ?)",
                          {std::string_view("big"), std::string_view(text), std::string_view(blob)});
    assert_true(ins.ok());
    auto rows = db.query("SELECT body, raw, name FROM items WHERE name = ?", {std::string_view("big")});
    assert_true(rows.ok());
    assert_int_equal(rows->size(), 1);
    assert_int_equal((*rows)[0][0]->size(), text.size());
    assert_true(*(*rows)[0][0] == text);
    assert_true(*(*rows)[0][1] == blob);
    assert_string_equal((*rows)[0][2]->c_str(), "big");
    print_message("db: 3 MB MEDIUMTEXT and 2 MB binary LONGBLOB round trip byte for byte\n");
}

void db_transactions(void **)
{
    Db db = connect_app();
    assert_true(db.begin().ok());
    assert_true(db.execute("INSERT INTO items (name) VALUES (?)", {std::string_view("rolled")}).ok());
    assert_true(db.rollback().ok());
    auto gone = db.query("SELECT id FROM items WHERE name = ?", {std::string_view("rolled")});
    assert_true(gone.ok());
    assert_true(gone->empty());

    assert_true(db.begin().ok());
    assert_true(db.execute("INSERT INTO items (name) VALUES (?)", {std::string_view("kept")}).ok());
    assert_true(db.commit().ok());
    auto kept = db.query("SELECT id FROM items WHERE name = ?", {std::string_view("kept")});
    assert_true(kept.ok());
    assert_int_equal(kept->size(), 1);
    print_message("db: rollback discards, commit keeps\n");
}

int64_t connection_id(Db &db)
{
    auto r = db.query("SELECT CONNECTION_ID()");
    assert_true(r.ok());
    auto id = col_int<int64_t>((*r)[0], 0);
    assert_true(id.ok());
    return *id;
}

void kill_connection(int64_t id)
{
    auto root = Db::connect(g_env.root);
    assert_true(root.ok());
    // KILL takes no placeholders; the id is our own integer.
    assert_true(root->exec_script("KILL CONNECTION " + std::to_string(id)).ok());
}

void db_killed_connection(void **)
{
    Db db = connect_app();
    int64_t before = connection_id(db);
    kill_connection(before);
    // A read outside a transaction finds the connection gone and is sent
    // once more on a new one.
    auto read = db.query("SELECT name FROM items WHERE name = ?", {std::string_view("kept")});
    assert_true(read.ok());
    assert_int_equal(read->size(), 1);
    const int64_t reconnected = connection_id(db);
    assert_true(reconnected != before);
    // A write is never repeated: whether it ran on the lost connection is
    // unknown to this call.
    kill_connection(reconnected);
    auto lost = db.execute("UPDATE items SET name = name WHERE name = ?", {std::string_view("kept")});
    assert_errc(lost, Errc::unavailable);
    // Next call reconnects transparently with a fresh statement cache.
    auto again = db.query("SELECT name FROM items WHERE name = ?", {std::string_view("kept")});
    assert_true(again.ok());
    assert_int_equal(again->size(), 1);
    assert_true(connection_id(db) != reconnected);

    // A transaction whose connection dies stays failed until rollback/begin.
    assert_true(db.begin().ok());
    assert_true(db.execute("INSERT INTO items (name) VALUES (?)", {std::string_view("orphan")}).ok());
    kill_connection(connection_id(db));
    auto in_txn = db.execute("INSERT INTO items (name) VALUES (?)", {std::string_view("orphan2")});
    assert_errc(in_txn, Errc::unavailable);
    auto after = db.execute("INSERT INTO items (name) VALUES (?)", {std::string_view("orphan3")});
    assert_errc(after, Errc::unavailable);  // would otherwise run outside the transaction
    assert_errc(db.commit(), Errc::unavailable);
    assert_true(db.rollback().ok());
    auto orphans = db.query("SELECT name FROM items WHERE name LIKE ?", {std::string_view("orphan%")});
    assert_true(orphans.ok());
    assert_true(orphans->empty());
    assert_true(db.ping());
    print_message("db: KILLed connection -> unavailable, next call reconnects; a transaction that lost its "
                  "connection refuses further statements and commit until rollback\n");
}

// ---- migrations --------------------------------------------------------

void migrate_core(void **)
{
    Db db = connect_app();
    std::string dir = g_env.source_root + "/sql";
    std::string detail;
    auto first = migrate(db, dir, &detail);
    if (!first) fail_msg("migrate failed: %s", detail.c_str());
    assert_true(first->already.empty());
    assert_true(!first->applied.empty());
    assert_string_equal(first->applied.front().c_str(), "0001_core.sql");
    for (const char *table : {"svd_registrations", "subject_not_before", "settings", "leases"}) {
        auto r = db.query("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() "
                          "AND table_name = ?", {std::string_view(table)});
        assert_true(r.ok());
        assert_string_equal((*r)[0][0]->c_str(), "1");
    }
    auto recorded = db.query("SELECT sha256, applied_at FROM schema_migrations WHERE name = ?",
                             {std::string_view("0001_core.sql")});
    assert_true(recorded.ok());
    assert_int_equal(recorded->size(), 1);
    assert_int_equal((*recorded)[0][0]->size(), 64);
    assert_true((*recorded)[0][1].has_value());

    auto second = migrate(db, dir, &detail);
    assert_true(second.ok());
    assert_true(second->applied.empty());
    assert_int_equal(second->already.size(), first->applied.size());

    // Schema behaviour the services rely on: defaults, and byte-wise ids.
    const std::string pmc = "02" + std::string(64, 'a');
    assert_true(db.execute("INSERT INTO svd_registrations (user_id, pmc_hex) VALUES (?, ?)",
                           {std::string_view("alice"), std::string_view(pmc)}).ok());
    assert_true(db.execute("INSERT INTO svd_registrations (user_id, pmc_hex) VALUES (?, ?)",
                           {std::string_view("Alice"), std::string_view(pmc)}).ok());
    auto reg = db.query("SELECT version, key_id, created_at FROM svd_registrations WHERE user_id = ?",
                        {std::string_view("alice")});
    assert_true(reg.ok());
    assert_string_equal((*reg)[0][0]->c_str(), "0");
    assert_false((*reg)[0][1].has_value());
    assert_true((*reg)[0][2].has_value());
    print_message("migrate: %zu file(s) applied from %s, second run all already applied; tables exist, "
                  "defaults set, user ids case-sensitive\n", first->applied.size(), dir.c_str());
}

void copy_sql_dir(const std::string &to)
{
    std::error_code ec;
    fs::create_directories(to, ec);
    assert_int_equal(ec.value(), 0);
    for (const auto &entry : fs::directory_iterator(g_env.source_root + "/sql", ec)) {
        if (entry.path().extension() != ".sql") continue;
        fs::copy_file(entry.path(), to + "/" + entry.path().filename().string(), ec);
        assert_int_equal(ec.value(), 0);
    }
}

void write_file(const std::string &path, const std::string &text, bool append = false)
{
    std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
    out << text;
    assert_true(out.good());
}

void migrate_changed_file(void **)
{
    Db db = connect_app("pp_mig");
    std::string dir = g_env.dir + "/sqlcopy";
    copy_sql_dir(dir);
    write_file(dir + "/README.txt", "not a migration");      // ignored: wrong name
    write_file(dir + "/1_short.sql", "SELECT nonsense;");     // ignored: wrong name
    std::string detail;
    auto first = migrate(db, dir, &detail);
    if (!first) fail_msg("migrate failed: %s", detail.c_str());
    assert_true(!first->applied.empty());

    write_file(dir + "/0001_core.sql", "\n-- edited after release\n", true);
    auto changed = migrate(db, dir, &detail);
    assert_errc(changed, Errc::conflict);
    assert_non_null(std::strstr(detail.c_str(), "0001_core.sql"));
    print_message("migrate: edited applied file -> conflict: \"%s\"\n", detail.c_str());
}

void migrate_failed_file(void **)
{
    Db db = connect_app("pp_mig2");
    std::string dir = g_env.dir + "/sqlbad";
    std::error_code ec;
    fs::create_directories(dir, ec);
    assert_int_equal(ec.value(), 0);
    write_file(dir + "/0001_ok.sql", "CREATE TABLE IF NOT EXISTS t1 (id INT PRIMARY KEY);\n"
                                     "INSERT INTO t1 VALUES (1);\n");
    write_file(dir + "/0002_bad.sql", "CREATE TABLE IF NOT EXISTS t2 (id INT PRIMARY KEY);\nCREAT TABLE oops;\n");
    write_file(dir + "/0003_later.sql", "CREATE TABLE t3 (id INT PRIMARY KEY);\n");
    std::string detail;
    auto bad = migrate(db, dir, &detail);
    assert_false(bad.ok());
    assert_non_null(std::strstr(detail.c_str(), "0002_bad.sql"));
    const std::string bad_detail = detail;
    auto names = db.query("SELECT name FROM schema_migrations ORDER BY name");
    assert_true(names.ok());
    assert_int_equal(names->size(), 1);
    assert_string_equal((*names)[0][0]->c_str(), "0001_ok.sql");

    write_file(dir + "/0002_bad.sql", "CREATE TABLE IF NOT EXISTS t2 (id INT PRIMARY KEY);\n-- fixed\n");
    auto fixed = migrate(db, dir, &detail);
    if (!fixed) fail_msg("migrate failed: %s", detail.c_str());
    assert_int_equal(fixed->applied.size(), 2);
    assert_string_equal(fixed->applied[0].c_str(), "0002_bad.sql");
    assert_string_equal(fixed->applied[1].c_str(), "0003_later.sql");
    assert_int_equal(fixed->already.size(), 1);

    auto missing = migrate(db, g_env.dir + "/no-such-dir", &detail);
    assert_errc(missing, Errc::not_found);
    print_message("migrate: failing file not recorded and stops later files (\"%s\"); once fixed, applied in order; "
                  "missing dir -> not_found\n", bad_detail.c_str());
}

void db_outage(void **)
{
    Db db = connect_app();
    const char *sql = "SELECT name FROM items WHERE name = ?";
    assert_true(db.query(sql, {std::string_view("kept")}).ok());  // cached statement
    stop(&g_env.mariadbd, 60);

    auto down = db.query(sql, {std::string_view("kept")});
    assert_errc(down, Errc::unavailable);
    assert_false(db.ping());  // reconnect attempt fails while the server is down
    auto still = db.execute("INSERT INTO items (name) VALUES (?)", {std::string_view("x")});
    assert_errc(still, Errc::unavailable);

    assert_true(start_mariadbd());
    assert_true(db.ping());
    auto up = db.query(sql, {std::string_view("kept")});
    assert_true(up.ok());
    assert_int_equal(up->size(), 1);
    print_message("db: mariadbd stopped -> unavailable, ping false; restarted -> ping reconnects, "
                  "cached SQL re-prepared\n");
}

}  // namespace

int main()
{
    const CMUnitTest tests[] = {
        cmocka_unit_test(db_connect_errors),
        cmocka_unit_test(db_round_trip),
        cmocka_unit_test(db_duplicate_conflict),
        cmocka_unit_test(db_version_guard),
        cmocka_unit_test(db_large_values),
        cmocka_unit_test(db_transactions),
        cmocka_unit_test(db_killed_connection),
        cmocka_unit_test(migrate_core),
        cmocka_unit_test(migrate_changed_file),
        cmocka_unit_test(migrate_failed_file),
        cmocka_unit_test(db_outage),
    };
    return cmocka_run_group_tests_name("store", tests, group_setup, group_teardown);
}

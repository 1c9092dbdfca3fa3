// SPDX-License-Identifier: MIT
// UTXO maintenance's store functions (store/maintenance.h), the operator's
// the sweep/split runs of admin/maintain.h against a REAL private mariadbd with the migrations
// applied: every transition is guarded by state and version and never
// touches a locked output; a maintenance run writes its job and locks its inputs in one
// transaction, a dry run writes nothing, and a second run is refused while
// the first one's job is unfinished.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "admin/maintain.h"
#include "admin/maintain_http.h"
#include "admin/plan.h"
#include "admin/run.h"
#include "admin/sync.h"
#include "chain/txbuilder.h"
#include "crypto/base58.h"
#include "crypto/encoding.h"
#include "crypto/secp256k1.h"
#include "store/db.h"
#include "store/job_admin.h"
#include "store/jobs.h"
#include "store/maintenance.h"
#include "store/pending.h"
#include "store/txn.h"
#include "store/utxo_pool.h"

#include "vectors.h"  // cmocka includes, after every C++ header

#include "fixture.h"
#include "maint_support.h"

using namespace pp;
using namespace pp::store;

namespace {

using pp::test::clean;
using pp::test::col;
using pp::test::connect_app;
using pp::test::txid_of;
using pp::test::group_teardown;

using pp::test::kT0;
using pp::test::record_job;
const std::string kKeyA = "02" + std::string(64, 'a');
const std::string kKeyB = "03" + std::string(64, 'b');
const std::string kKeyOther = "02" + std::string(64, 'c');
const std::string kScript = "76a914" + std::string(40, '1') + "88ac";

int group_setup(void **) { return test::setup_migrated("/tmp/pp-maint-XXXXXX", "pp_maint") ? 0 : -1; }

uint64_t add(Db &db, int n, uint64_t sats, const std::string &key = kKeyA, const char *status = "available")
{
    UtxoPool pool(db);
    auto id = pool.add(txid_of(n), 0, sats, key, kScript, status);
    assert_true(id.ok());
    return *id;
}

Utxo row(Db &db, uint64_t id)
{
    auto all = db.query("SELECT txid, status, version, COALESCE(spent_txid, ''), COALESCE(quarantine_reason, '') "
                        "FROM utxos WHERE id = ?",
                        {static_cast<int64_t>(id)});
    assert_true(all.ok());
    assert_int_equal(all->size(), 1);
    UtxoPool pool(db);
    auto u = pool.find(*(*all)[0][0], 0);
    assert_true(u.ok() && u->has_value());
    return **u;
}

void set_status(Db &db, uint64_t id, const char *status)
{
    assert_true(db.execute("UPDATE utxos SET status = ?, version = version + 1 WHERE id = ?",
                           {std::string_view(status), static_cast<int64_t>(id)})
                    .ok());
}

// ---- guarded transitions ---------------------------------------------------

void transitions_are_guarded_and_skip_locked(void **)
{
    Db db = connect_app();
    const uint64_t a = add(db, 1, 5000, kKeyA, "unconfirmed");
    Utxo ua = row(db, a);
    Utxo stale = ua;
    stale.version += 7;
    assert_true(promote_unconfirmed(db, stale).ok());
    assert_false(*promote_unconfirmed(db, stale));  // wrong version: 0 rows
    assert_true(*promote_unconfirmed(db, ua));
    assert_string_equal(row(db, a).status.c_str(), "available");
    assert_false(*promote_unconfirmed(db, ua));  // version moved on

    // A locked output is never a source state.
    const uint64_t b = add(db, 2, 6000);
    UtxoPool pool(db);
    Utxo ub = row(db, b);
    assert_true(*pool.lock_exact(42, {ub}, kT0));
    Utxo locked = row(db, b);
    assert_false(*mark_spent_by(db, locked, txid_of(77)));
    assert_false(*quarantine_entry(db, locked, "x"));
    assert_false(*release_quarantined(db, locked, "available"));
    assert_false(*promote_unconfirmed(db, locked));
    assert_string_equal(row(db, b).status.c_str(), "locked");

    // available → spent keeps the spender; available → quarantined the reason.
    Utxo avail = row(db, a);
    assert_true(*mark_spent_by(db, avail, txid_of(77)));
    assert_string_equal(col(db, "SELECT spent_txid FROM utxos WHERE id = " + std::to_string(a)).c_str(),
                        txid_of(77).c_str());
    const uint64_t c = add(db, 3, 7000);
    assert_true(*quarantine_entry(db, row(db, c), "gone"));
    assert_string_equal(col(db, "SELECT quarantine_reason FROM utxos WHERE id = " + std::to_string(c)).c_str(),
                        "gone");
    // quarantined → available clears the reason; only these two targets.
    assert_errc(release_quarantined(db, row(db, c), "spent"), Errc::invalid_argument);
    assert_true(*release_quarantined(db, row(db, c), "available"));
    assert_string_equal(col(db, "SELECT COALESCE(quarantine_reason, 'none') FROM utxos WHERE id = " +
                                    std::to_string(c))
                            .c_str(),
                        "none");
    assert_string_equal(row(db, c).status.c_str(), "available");
}

void sync_entries_are_the_keys_changeable_rows(void **)
{
    Db db = connect_app();
    const uint64_t a = add(db, 1, 1000, kKeyA, "unconfirmed");
    const uint64_t b = add(db, 2, 1000, kKeyB);
    const uint64_t q = add(db, 3, 1000, kKeyB);
    add(db, 4, 1000, kKeyOther);  // another key: not ours to sync
    const uint64_t l = add(db, 5, 1000, kKeyA);
    const uint64_t s = add(db, 6, 1000, kKeyA);
    UtxoPool pool(db);
    assert_true(*pool.lock_exact(9, {row(db, q)}, kT0));
    assert_true(*pool.quarantine(9, q, "refused"));
    assert_true(*pool.lock_exact(10, {row(db, l)}, kT0));
    set_status(db, s, "spent");

    auto e = sync_entries(db, kKeyA, kKeyB);
    assert_true(e.ok());
    assert_int_equal(e->size(), 3);  // not the locked, spent or other key's rows
    assert_int_equal((*e)[0].utxo.id, a);
    assert_int_equal((*e)[1].utxo.id, b);
    assert_int_equal((*e)[2].utxo.id, q);
    assert_false((*e)[0].last_job.has_value());
    assert_true((*e)[2].last_job.has_value());
    assert_int_equal(*(*e)[2].last_job, 9);
}

void stored_transactions_are_found(void **)
{
    Db db = connect_app();
    auto id = with_txn(db, [&](Txn &t) { return insert_job(t.db(), JobKind::sweep, "{}"); });
    assert_true(id.ok());
    assert_true(db.execute("UPDATE jobs SET raw_tx = '0100aabbccdd', txid = ? WHERE id = ?",
                           {std::string_view(txid_of(5)), static_cast<int64_t>(*id)})
                    .ok());
    auto t = job_tx(db, *id);
    assert_true(t.ok() && t->has_value());
    assert_string_equal((*t)->txid.c_str(), txid_of(5).c_str());
    assert_false(job_tx(db, *id + 100)->has_value());
    assert_int_equal(job_txs_containing(db, "aabbcc", 5)->size(), 1);
    assert_int_equal(job_txs_containing(db, "ddee", 5)->size(), 0);
    assert_errc(job_txs_containing(db, "a%", 5), Errc::invalid_argument);  // never a LIKE pattern
    // raw_tx is always stored lowercase (hex_encode): the search matches the
    // column as stored, it does not fold case row by row.
    assert_true(db.execute("UPDATE jobs SET raw_tx = '0100AABBCCDD' WHERE id = ?", {static_cast<int64_t>(*id)}).ok());
    assert_int_equal(job_txs_containing(db, "aabbcc", 5)->size(), 0);
    assert_true(db.execute("UPDATE jobs SET raw_tx = '0100aabbccdd' WHERE id = ?", {static_cast<int64_t>(*id)}).ok());
    // A job that failed before signing has no transaction: never a candidate.
    // One that failed after signing is (its transaction may be on chain).
    auto unsigned_ = with_txn(db, [&](Txn &tx) { return insert_job(tx.db(), JobKind::sweep, "{}"); });
    assert_true(db.execute("UPDATE jobs SET step = 'failed' WHERE id = ?", {static_cast<int64_t>(*unsigned_)}).ok());
    auto signed_ = with_txn(db, [&](Txn &tx) { return insert_job(tx.db(), JobKind::split, "{}"); });
    assert_true(db.execute("UPDATE jobs SET step = 'failed', raw_tx = '0200ffaabbcc', txid = ? WHERE id = ?",
                           {std::string_view(txid_of(7)), static_cast<int64_t>(*signed_)})
                    .ok());
    auto both = job_txs_containing(db, "aabbcc", 5);
    assert_true(both.ok());
    assert_int_equal(both->size(), 2);
    assert_int_equal((*both)[0].job_id, *signed_);  // newest first
    assert_int_equal((*both)[1].job_id, *id);
    assert_int_equal(job_txs_containing(db, "aabbcc", 1)->size(), 1);
    assert_true(*is_job_txid(db, txid_of(5)));
    assert_false(*is_job_txid(db, txid_of(6)));
}

void planner_reads(void **)
{
    Db db = connect_app();
    add(db, 1, 300);
    add(db, 2, 100);
    add(db, 3, 200, kKeyA, "unconfirmed");
    add(db, 4, 50000);
    add(db, 5, 20000);
    auto dust = available_dust(db, 1000, 10);
    assert_true(dust.ok());
    assert_int_equal(dust->size(), 2);  // not the unconfirmed one
    assert_int_equal((*dust)[0].satoshis, 100);
    assert_int_equal(available_dust(db, 1000, 1)->size(), 1);
    assert_int_equal(*count_available_at_least(db, 20000), 2);
    assert_int_equal((*largest_available(db))->satoshis, 50000);
}

// ---- the planners (pure) ---------------------------------------------------

void planners(void **)
{
    admin::MaintainSettings s;
    s.dust_threshold = 1000;
    s.dust_sweep_limit = 3;
    s.fee_per_kb = 500;
    std::vector<Utxo> dust(5);
    for (size_t i = 0; i < dust.size(); ++i) {
        dust[i].id = i + 1;
        dust[i].satoshis = 400 + i;
    }
    auto p = admin::plan_sweep(dust, s);
    assert_false(p.skipped.has_value());
    assert_int_equal(p.inputs.size(), 3);  // DUST_SWEEP_LIMIT
    assert_true(p.total > p.fee);
    assert_true(admin::plan_sweep({dust[0]}, s).skipped.has_value());  // one is not a sweep
    std::vector<Utxo> tiny(2);
    tiny[0].satoshis = tiny[1].satoshis = 10;  // cannot pay their own fee
    assert_true(admin::plan_sweep(tiny, s).skipped.has_value());

    s.min_utxo_count = 10;
    s.split_size = 10000;
    s.max_split_outputs = 4;
    Utxo big;
    big.id = 9;
    big.satoshis = 1'000'000;
    auto sp = admin::plan_split(7, big, s);
    assert_false(sp.skipped.has_value());
    assert_int_equal(sp.outputs, 3);  // missing 3 < MAX_SPLIT_OUTPUTS
    assert_int_equal(admin::plan_split(2, big, s).outputs, 4);
    assert_true(admin::plan_split(10, big, s).skipped.has_value());
    big.satoshis = 25000;  // pays for two outputs and the fee, not three
    assert_int_equal(admin::plan_split(7, big, s).outputs, 2);
    big.satoshis = 5000;
    assert_true(admin::plan_split(7, big, s).skipped.has_value());
    assert_true(admin::plan_split(7, std::nullopt, s).skipped.has_value());
}

// ---- maintenance runs (sweep/split need no chain) ---------------------------

admin::MaintainSettings run_settings()
{
    admin::MaintainSettings s;
    s.dust_threshold = 1000;
    s.dust_sweep_limit = 10;
    s.min_utxo_count = 3;
    s.split_size = 10000;
    s.max_split_outputs = 5;
    s.fee_per_kb = 500;
    s.wait_sec = 0;  // no worker here: waiting ends at once (202 / exit 3)
    s.lease_sec = 60;
    return s;
}

void dry_run_writes_nothing_and_run_locks_inputs(void **)
{
    Db db = connect_app();
    add(db, 1, 600);
    add(db, 2, 700);
    add(db, 3, 800);
    add(db, 4, 500000);
    const admin::MaintainSettings s = run_settings();
    const std::string before = col(db, "SELECT GROUP_CONCAT(id, status, version ORDER BY id) FROM utxos");

    auto dry = admin::run_maintain(db, nullptr, s, admin::Action::sweep, true);
    assert_true(dry.ok());
    json_t *sweep = json_object_get(json_object_get(dry->body.get(), "result"), "sweep");
    assert_int_equal(json_integer_value(json_object_get(sweep, "swept")), 3);
    assert_true(json_is_null(json_object_get(sweep, "jobId")));
    assert_true(json_is_true(json_object_get(dry->body.get(), "dryRun")));
    assert_string_equal(col(db, "SELECT GROUP_CONCAT(id, status, version ORDER BY id) FROM utxos").c_str(),
                        before.c_str());
    assert_string_equal(col(db, "SELECT COUNT(*) FROM jobs").c_str(), "0");
    assert_string_equal(col(db, "SELECT COUNT(*) FROM leases").c_str(), "0");

    auto run = admin::run_maintain(db, nullptr, s, admin::Action::sweep, false);
    assert_true(run.ok());
    assert_false(run->all_signed);  // nobody signs here
    sweep = json_object_get(json_object_get(run->body.get(), "result"), "sweep");
    const json_int_t job = json_integer_value(json_object_get(sweep, "jobId"));
    assert_true(job > 0);
    assert_true(json_is_null(json_object_get(sweep, "txid")));
    assert_string_equal(
        col(db, "SELECT COUNT(*) FROM utxos WHERE status = 'locked' AND locked_by = " + std::to_string(job)).c_str(),
        "3");
    assert_string_equal(col(db, "SELECT CONCAT(kind, ':', payload) FROM jobs").c_str(), "sweep:{}");

    // The job is unfinished: the next run is refused, whichever action.
    assert_errc(admin::run_maintain(db, nullptr, s, admin::Action::split, false), Errc::conflict);
    assert_true(db.execute("UPDATE jobs SET step = 'done'").ok());
    auto split = admin::run_maintain(db, nullptr, s, admin::Action::split, false);
    assert_true(split.ok());
    json_t *sp = json_object_get(json_object_get(split->body.get(), "result"), "split");
    // MIN_UTXO_COUNT 3, and the big output is the one of >= 10000: 2 missing.
    assert_int_equal(json_integer_value(json_object_get(sp, "outputs")), 2);
    assert_string_equal(col(db, "SELECT payload FROM jobs WHERE kind = 'split'").c_str(),
                        "{\"outputs\":2,\"satoshis\":10000}");
    assert_string_equal(col(db, "SELECT satoshis FROM utxos WHERE status = 'locked' AND locked_by = (SELECT id "
                                "FROM jobs WHERE kind = 'split')")
                            .c_str(),
                        "500000");
    // The lease went with the run; sync without a chain client is unavailable.
    assert_string_equal(col(db, "SELECT COUNT(*) FROM leases WHERE expires_at > UNIX_TIMESTAMP()").c_str(), "0");
    assert_true(db.execute("UPDATE jobs SET step = 'done'").ok());
    assert_errc(admin::run_maintain(db, nullptr, s, admin::Action::sync, false), Errc::unavailable);
}

void lease_held_elsewhere_is_conflict(void **)
{
    Db db = connect_app();
    add(db, 1, 600);
    add(db, 2, 700);
    assert_true(db.execute("INSERT INTO leases (name, holder, expires_at) VALUES ('utxo-maintain', 'other', "
                           "UNIX_TIMESTAMP() + 100)")
                    .ok());
    assert_errc(admin::run_maintain(db, nullptr, run_settings(), admin::Action::sweep, false), Errc::conflict);
    assert_string_equal(col(db, "SELECT COUNT(*) FROM jobs").c_str(), "0");
    // Expired: taken over.
    assert_true(db.execute("UPDATE leases SET expires_at = UNIX_TIMESTAMP() - 1").ok());
    assert_true(admin::run_maintain(db, nullptr, run_settings(), admin::Action::sweep, false).ok());
}

// The generator point G: a real key and its P2PKH script, for build_unsigned.
const std::string kRealKey = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
const std::string kRealScript = "76a914751e76e8199196d454941c45d1b3a323f1433bd688ac";

Result<chain::UnsignedTx> build_sweep(const std::vector<Utxo> &inputs, uint64_t fee_per_kb)
{
    chain::BuildParams p;
    p.data_output = false;
    p.change_script = *crypto::hex_decode(kRealScript);
    p.fee_per_kb = fee_per_kb;
    for (const Utxo &u : inputs)
        p.inputs.push_back({u.id, u.txid, u.vout, u.satoshis, kRealKey, *crypto::hex_decode(kRealScript)});
    return chain::build_unsigned(p);
}

// The sweep planner asks for exactly what the builder needs: at the
// boundary the plan builds (change of at least the dust limit), one satoshi
// below it is skipped with a reason, and no job is written for it.
void sweep_plans_are_what_the_builder_builds(void **)
{
    Db db = connect_app();
    admin::MaintainSettings s = run_settings();
    for (uint64_t fee_per_kb : {1, 50, 500, 1000, 2500}) {
        s.fee_per_kb = fee_per_kb;
        const uint64_t need = chain::required_funding(chain::TxShape{2, std::nullopt, 0, true}, 0, fee_per_kb);
        for (uint64_t total : {need - 1, need, need + 1}) {
            std::vector<Utxo> dust(2);
            for (size_t i = 0; i < 2; ++i) {
                dust[i].id = i + 1;
                dust[i].txid = txid_of(static_cast<int>(i) + 1);
                dust[i].satoshis = i == 0 ? total / 2 : total - total / 2;
            }
            admin::SweepPlan plan = admin::plan_sweep(dust, s);
            auto built = build_sweep(dust, fee_per_kb);
            // The planner and the builder agree on every total.
            assert_int_equal(plan.skipped.has_value(), !built.ok());
            if (total < need) {
                assert_true(plan.skipped.has_value());
                assert_non_null(std::strstr(plan.skipped->c_str(), "fee"));
                continue;
            }
            assert_int_equal(plan.inputs.size(), 2);
            assert_int_equal(plan.fee, built->fee);
            assert_true(built->change_vout.has_value());
            assert_true(built->change_satoshis >= chain::kDustLimit);
            assert_int_equal(built->change_satoshis, total - plan.fee);
        }
    }
    // In a run: dust one satoshi short of the builder's need is skipped, no job.
    s.fee_per_kb = 500;
    const uint64_t need = chain::required_funding(chain::TxShape{2, std::nullopt, 0, true}, 0, 500);
    add(db, 1, need / 2);
    add(db, 2, need - 1 - need / 2);
    auto run = admin::run_maintain(db, nullptr, s, admin::Action::sweep, false);
    assert_true(run.ok());
    json_t *sweep = json_object_get(json_object_get(run->body.get(), "result"), "sweep");
    assert_true(json_is_true(json_object_get(sweep, "skipped")));
    assert_true(json_is_string(json_object_get(sweep, "reason")));
    assert_string_equal(col(db, "SELECT COUNT(*) FROM jobs").c_str(), "0");
}

// The split planner likewise: n fixed outputs, the fee and change above dust.
void split_plans_are_what_the_builder_builds(void **)
{
    admin::MaintainSettings s = run_settings();
    s.min_utxo_count = 10;
    s.max_split_outputs = 3;
    const uint64_t need = chain::required_funding(chain::TxShape{1, std::nullopt, 3, true}, 3 * s.split_size, 500);
    for (uint64_t sats : {need - 1, need}) {
        Utxo big;
        big.id = 1;
        big.txid = txid_of(1);
        big.satoshis = sats;
        admin::SplitPlan plan = admin::plan_split(0, big, s);
        assert_int_equal(plan.outputs, sats == need ? 3 : 2);
        chain::BuildParams p;
        p.data_output = false;
        p.change_script = *crypto::hex_decode(kRealScript);
        p.fixed_outputs.assign(plan.outputs, s.split_size);
        p.inputs.push_back({1, big.txid, 0, sats, kRealKey, *crypto::hex_decode(kRealScript)});
        auto built = chain::build_unsigned(p);
        assert_true(built.ok());
        assert_int_equal(built->fee, plan.fee);
        assert_true(built->change_vout.has_value());
    }
}

// sync renews the run's lease before it asks the chain and before each
// entry; once the lease is lost it stops with conflict before changing
// anything (here before even asking the chain, which is not reachable).
void sync_stops_when_the_lease_is_lost(void **)
{
    Db db = connect_app();
    add(db, 1, 5000);
    admin::MaintainSettings s = run_settings();
    s.network = "test";
    auto key = crypto::hex_decode(kRealKey);
    s.funding_address = crypto::p2pkh_address(std::span<const uint8_t, 33>(key->data(), 33), crypto::Network::test);
    s.funding_key_id = kRealKey;
    s.change_address = s.funding_address;
    s.change_key_id = kRealKey;
    chain::ChainOptions opt;
    opt.base_url = "http://127.0.0.1:9";  // discard port: nothing answers
    opt.network = "test";
    opt.timeout_ms = 500;
    opt.retries = 0;
    auto chain = chain::Client::create(opt);
    assert_true(chain.ok());
    const std::string before = col(db, "SELECT GROUP_CONCAT(id, status, version) FROM utxos");

    int calls = 0;
    admin::KeepLease held = [&]() -> Result<void> { ++calls; return {}; };
    assert_errc(admin::sync_pool(db, *chain, s, false, held), Errc::unavailable);  // the chain was asked
    assert_true(calls >= 1);

    // A real run's lease, taken over by another host once it went stale.
    auto run = admin::LeaseRun::begin(db, admin::kMaintainLease, {}, 1);
    assert_true(run.ok());
    assert_true(db.execute("UPDATE leases SET holder = 'other-host', version = version + 1, "
                           "expires_at = UNIX_TIMESTAMP() + 100")
                    .ok());
    const int64_t start = admin::now_sec();
    while (admin::now_sec() <= start)  // keep() renews once a third of the 1 s TTL passed
        usleep(50 * 1000);
    admin::KeepLease keep = [&]() { return run->keep(); };
    assert_errc(admin::sync_pool(db, *chain, s, false, keep), Errc::conflict);
    assert_string_equal(col(db, "SELECT GROUP_CONCAT(id, status, version) FROM utxos").c_str(), before.c_str());
    assert_string_equal(col(db, "SELECT holder FROM leases").c_str(), "other-host");
}

// The route's answer to a run's error: 409, 503 for what is down, and 500
// INTERNAL (logged) for anything else, never a "Database" 503.
void maintain_errors_map_to_statuses(void **)
{
    assert_int_equal(admin::maintain_error(Errc::conflict).status, 409);
    assert_int_equal(admin::maintain_error(Errc::unavailable).status, 503);
    assert_int_equal(admin::maintain_error(Errc::timeout).status, 503);
    assert_int_equal(admin::maintain_error(Errc::deadlock).status, 503);
    assert_int_equal(admin::maintain_error(Errc::invalid_argument).status, 503);
    for (Errc e : {Errc::internal, Errc::not_found, Errc::parse_error, Errc::out_of_range}) {
        http::Response r = admin::maintain_error(e);
        assert_int_equal(r.status, 500);
        assert_non_null(std::strstr(r.body.c_str(), "\"INTERNAL\""));
        assert_null(std::strstr(r.body.c_str(), "Database"));
    }
    assert_int_equal(admin::health_error(Errc::unavailable).status, 503);
    assert_int_equal(admin::health_error(Errc::internal).status, 500);
}

}  // namespace

int main()
{
    signal(SIGPIPE, SIG_IGN);
    if (!pp::crypto::secp_init())  // build_unsigned checks keys
        return 1;
    const CMUnitTest tests[] = {
        cmocka_unit_test_setup(transitions_are_guarded_and_skip_locked, clean),
        cmocka_unit_test_setup(sync_entries_are_the_keys_changeable_rows, clean),
        cmocka_unit_test_setup(stored_transactions_are_found, clean),
        cmocka_unit_test_setup(planner_reads, clean),
        cmocka_unit_test(planners),
        cmocka_unit_test_setup(dry_run_writes_nothing_and_run_locks_inputs, clean),
        cmocka_unit_test_setup(lease_held_elsewhere_is_conflict, clean),
        cmocka_unit_test_setup(sweep_plans_are_what_the_builder_builds, clean),
        cmocka_unit_test(split_plans_are_what_the_builder_builds),
        cmocka_unit_test_setup(sync_stops_when_the_lease_is_lost, clean),
        cmocka_unit_test(maintain_errors_map_to_statuses),
    };
    return cmocka_run_group_tests_name("maintenance", tests, group_setup, group_teardown);
}

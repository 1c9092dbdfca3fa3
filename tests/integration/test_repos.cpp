// SPDX-License-Identifier: MIT
// The store's typed repositories against a REAL private mariadbd with the
// migrations applied: leases (acquire / renew / release, a second holder is
// refused, an expired lease is taken over, a taken-over holder can do
// nothing), patch state and history (version-guarded transfer lock),
// claim intents (one text per state, guarded transitions), pending records,
// identities, content, settings and the metrics counts. Time is passed in,
// so expiry is tested without sleeping.
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "fixture.h"
#include "store/claims.h"
#include "store/content.h"
#include "store/db.h"
#include "store/identities.h"
#include "store/leases.h"
#include "store/migrate.h"
#include "store/patches.h"
#include "store/pending.h"
#include "store/settings.h"
#include "store/stats.h"
#include "store/txn.h"
#include "vectors.h"  // cmocka includes, after every other header

using namespace pp;
using namespace pp::store;

namespace {

using pp::test::connect_app;
using pp::test::group_teardown;

constexpr int64_t kT0 = 1'700'000'000;  // unix seconds, a fixed "now"
const std::string kTxA(64, 'a'), kTxB(64, 'b');

int group_setup(void **) { return test::setup_migrated("/tmp/pp-repos-XXXXXX", "pp_repos") ? 0 : -1; }

int clean(void **)
{
    Db db = connect_app();
    for (const char *t : {"leases", "patch_state", "records", "claim_intents", "jobs", "pending_records",
                          "svd_registrations", "subject_not_before", "patch_content", "settings", "utxos"}) {
        if (!db.execute(std::string("DELETE FROM ") + t)) return -1;
    }
    return 0;
}

// ---- leases --------------------------------------------------------------

void lease_second_holder_conflicts(void **)
{
    Db db = connect_app();
    auto a = acquire_lease(db, "utxo-maint", "host-a", kT0, 60);
    assert_true(a.ok());
    assert_int_equal(a->expires_at, kT0 + 60);
    // Another holder, before expiry (also one second before): refused.
    assert_errc(acquire_lease(db, "utxo-maint", "host-b", kT0 + 30, 60), Errc::conflict);
    assert_errc(acquire_lease(db, "utxo-maint", "host-b", kT0 + 59, 60), Errc::conflict);
    // Other names are independent.
    assert_true(acquire_lease(db, "other", "host-b", kT0, 60).ok());
    // The holder itself may take it again: that is a renewal.
    auto again = acquire_lease(db, "utxo-maint", "host-a", kT0 + 10, 60);
    assert_true(again.ok());
    assert_int_equal(again->expires_at, kT0 + 70);
    assert_int_equal(again->version, a->version + 1);
    assert_errc(acquire_lease(db, "", "x", kT0, 60), Errc::invalid_argument);
    assert_errc(acquire_lease(db, "n", "", kT0, 60), Errc::invalid_argument);
    assert_errc(acquire_lease(db, "n", "x", kT0, 0), Errc::invalid_argument);
}

void lease_renew_and_release(void **)
{
    Db db = connect_app();
    auto a = acquire_lease(db, "job", "me", kT0, 60);
    assert_true(a.ok());
    Lease l = *a;
    assert_true(renew_lease(db, l, kT0 + 50, 60).ok());
    assert_int_equal(l.expires_at, kT0 + 110);
    assert_errc(acquire_lease(db, "job", "you", kT0 + 100, 60), Errc::conflict);  // renewal counted
    // A stale copy (old version) can neither renew nor release.
    Lease stale = *a;
    assert_errc(renew_lease(db, stale, kT0 + 55, 60), Errc::conflict);
    assert_errc(release_lease(db, stale), Errc::conflict);
    assert_true(release_lease(db, l).ok());
    assert_errc(release_lease(db, l), Errc::conflict);  // gone
    // Free again: anyone takes it at once.
    auto b = acquire_lease(db, "job", "you", kT0 + 56, 60);
    assert_true(b.ok());
    assert_string_equal(b->holder.c_str(), "you");
}

void lease_expired_is_taken_over(void **)
{
    Db db = connect_app();
    auto a = acquire_lease(db, "maint", "old", kT0, 60);
    assert_true(a.ok());
    Lease old = *a;
    // At expiry exactly the lease no longer runs.
    auto b = acquire_lease(db, "maint", "new", kT0 + 60, 60);
    assert_true(b.ok());
    assert_string_equal(b->holder.c_str(), "new");
    assert_int_equal(b->expires_at, kT0 + 120);
    // The old holder learns it lost: renew and release are refused, and
    // taking it back fails while the new lease runs.
    assert_errc(renew_lease(db, old, kT0 + 61, 60), Errc::conflict);
    assert_errc(release_lease(db, old), Errc::conflict);
    assert_errc(acquire_lease(db, "maint", "old", kT0 + 61, 60), Errc::conflict);
    // An expired lease cannot be renewed by its holder either (someone else
    // may have been entitled to it meanwhile): it must be acquired again.
    Lease mine = *b;
    assert_errc(renew_lease(db, mine, kT0 + 120, 60), Errc::conflict);
    auto back = acquire_lease(db, "maint", "new", kT0 + 121, 60);
    assert_true(back.ok());
}

// Two connections take one free name one after the other: the second is refused.
void lease_two_takers_one_winner(void **)
{
    Db a = connect_app();
    Db b = connect_app();
    auto first = acquire_lease(a, "race", "a", kT0, 60);
    auto second = acquire_lease(b, "race", "b", kT0, 60);
    assert_true(first.ok());
    assert_errc(second, Errc::conflict);
    // An expired lease raced for by two takers: the version guard picks one.
    auto t1 = acquire_lease(a, "race", "c", kT0 + 61, 60);
    auto t2 = acquire_lease(b, "race", "d", kT0 + 61, 60);
    assert_true(t1.ok());
    assert_errc(t2, Errc::conflict);
}

// ---- patches -------------------------------------------------------------

void patch_state_and_transfer_lock(void **)
{
    Db db = connect_app();
    auto none = load_patch_state(db, "UID-1");
    assert_true(none.ok());
    assert_false(none->has_value());
    assert_true(insert_patch_state(db, "UID-1", kTxA, "{\"r\":1}", std::string(64, 'h'), "addr1").ok());
    assert_errc(insert_patch_state(db, "UID-1", kTxA, "{}", std::string(64, 'h'), "x"), Errc::conflict);
    assert_true(insert_record(db, RecordRow{kTxA, "UID-1", PendingKind::registration, "{\"r\":1}",
                                            std::string(64, 'h'), 1000})
                    .ok());
    auto uid = uid_of_record(db, kTxA);
    assert_true(uid.ok() && uid->has_value());
    assert_string_equal((*uid)->c_str(), "UID-1");
    auto missing = uid_of_record(db, kTxB);
    assert_true(missing.ok() && !missing->has_value());
    auto rec = find_record(db, kTxA);
    assert_true(rec.ok() && rec->has_value());
    assert_string_equal((*rec)->uid_tag_id.c_str(), "UID-1");
    assert_string_equal((*rec)->record_hash.c_str(), std::string(64, 'h').c_str());
    assert_true((*rec)->kind == PendingKind::registration);
    assert_int_equal((*rec)->confirmed_ms, 1000);
    auto no_rec = find_record(db, kTxB);
    assert_true(no_rec.ok() && !no_rec->has_value());

    auto s = load_patch_state(db, "UID-1");
    assert_true(s.ok() && s->has_value());
    const PatchState st = **s;
    assert_int_equal(st.version, 0);
    assert_string_equal(st.owner_address.c_str(), "addr1");
    assert_true(lock_for_transfer(db, st, std::string(32, '1')).ok());
    // The same read again (old version, or a second taker): conflict.
    assert_errc(lock_for_transfer(db, st, std::string(32, '2')), Errc::conflict);
    auto locked = load_patch_state(db, "UID-1");
    assert_true((*locked)->pending_transfer_id && *(*locked)->pending_transfer_id == std::string(32, '1'));
    assert_int_equal((*locked)->version, 1);

    // Someone else's transfer id clears nothing; ours clears it.
    auto other = clear_pending_transfer(db, "UID-1", std::string(32, '2'));
    assert_true(other.ok() && !*other);
    auto cleared = clear_pending_transfer(db, "UID-1", std::string(32, '1'));
    assert_true(cleared.ok() && *cleared);

    // Confirmation of a transfer: guarded by the version read under lock.
    auto txn = Txn::begin(db);
    assert_true(txn.ok());
    auto cur = lock_patch_state(txn->db(), "UID-1");
    assert_true(cur.ok() && cur->has_value());
    PatchState stale = **cur;
    stale.version -= 1;
    assert_errc(replace_patch_state(txn->db(), stale, kTxB, "{\"r\":2}", std::string(64, 'i'), "addr2"),
                Errc::conflict);
    assert_true(replace_patch_state(txn->db(), **cur, kTxB, "{\"r\":2}", std::string(64, 'i'), "addr2").ok());
    assert_true(insert_record(txn->db(), RecordRow{kTxB, "UID-1", PendingKind::transfer, "{\"r\":2}",
                                                   std::string(64, 'i'), 2000})
                    .ok());
    assert_true(txn->commit().ok());
    auto now = load_patch_state(db, "UID-1");
    assert_string_equal((*now)->current_txid.c_str(), kTxB.c_str());
    assert_string_equal((*now)->owner_address.c_str(), "addr2");
    assert_false((*now)->pending_transfer_id.has_value());

    auto h = patch_history(db, "UID-1");
    assert_true(h.ok());
    assert_int_equal(h->size(), 2);
    assert_string_equal((*h)[0].txid.c_str(), kTxA.c_str());
    assert_true((*h)[0].kind == PendingKind::registration);
    assert_true((*h)[1].kind == PendingKind::transfer);
    assert_int_equal((*h)[1].confirmed_ms, 2000);
    assert_errc(insert_record(db, (*h)[0]), Errc::conflict);

    auto reg = patch_registered_locked(db, "UID-1");
    assert_true(reg.ok() && *reg);
    auto unreg = patch_registered_locked(db, "UID-2");
    assert_true(unreg.ok() && !*unreg);
}

// ---- claims, pending, enum texts ----------------------------------------

template <typename E>
void round_trip_texts()
{
    for (const auto &[value, name] : EnumText<E>::names) {
        assert_true(to_text(value) == name);
        auto back = from_text<E>(name);
        assert_true(back.has_value() && *back == value);
    }
    assert_false(from_text<E>("").has_value());
    assert_false(from_text<E>("Pending").has_value());  // case matters
}

void enum_texts_are_one_mapping(void **)
{
    round_trip_texts<ClaimStatus>();
    round_trip_texts<PendingStatus>();
    round_trip_texts<PendingKind>();
}

void claim_transitions(void **)
{
    Db db = connect_app();
    const std::string id = random_id();
    NewClaim c{id, "UID-C", "addr", "alice", std::string(66, '0'), "nonce-1", kT0, kT0 + 600};
    assert_true(insert_claim(db, c).ok());
    NewClaim dup = c;
    dup.id = random_id();
    assert_errc(insert_claim(db, dup), Errc::conflict);  // nonce reused

    auto f = find_claim(db, id);
    assert_true(f.ok() && f->has_value());
    const Claim claim = **f;
    assert_true(claim.status == ClaimStatus::pending);
    assert_int_equal(claim.expires_ms, kT0 + 600);
    assert_true(claim.customer_address && *claim.customer_address == "addr");
    assert_false(claim.approved_by.has_value());

    const std::string pid = random_id();
    auto stale = approve_claim(db, id, claim.version + 1, "shop", pid);
    assert_true(stale.ok() && !*stale);
    auto ok = approve_claim(db, id, claim.version, "shop", pid);
    assert_true(ok.ok() && *ok);
    auto twice = approve_claim(db, id, claim.version, "shop", pid);
    assert_true(twice.ok() && !*twice);
    auto expired = expire_claim(db, id, claim.version + 1);  // approved: no longer pending
    assert_true(expired.ok() && !*expired);
    auto a = find_claim(db, id);
    assert_true((*a)->status == ClaimStatus::approved);
    assert_true((*a)->approved_by && *(*a)->approved_by == "shop");
    assert_true((*a)->pending_id && *(*a)->pending_id == pid);

    auto conf = confirm_claim(db, id, kTxA);
    assert_true(conf.ok() && *conf);
    auto failed = fail_claim(db, id, "late");  // confirmed stays confirmed
    assert_true(failed.ok() && !*failed);
    auto done = find_claim(db, id);
    assert_true((*done)->status == ClaimStatus::confirmed);
    assert_true((*done)->txid && *(*done)->txid == kTxA);

    const std::string id2 = random_id();
    NewClaim c2{id2, "UID-C", "addr", "alice", std::string(66, '0'), "nonce-2", kT0, kT0 + 600};
    assert_true(insert_claim(db, c2).ok());
    auto e = expire_claim(db, id2, 0);
    assert_true(e.ok() && *e);
    assert_true((*find_claim(db, id2))->status == ClaimStatus::expired);
    auto gone = find_claim(db, random_id());
    assert_true(gone.ok() && !gone->has_value());
}

void pending_states(void **)
{
    Db db = connect_app();
    NewPending p{random_id(), std::string(to_text(PendingKind::registration)), "UID-P", "{}", {}, {}};
    auto job = with_txn(db, [&](Txn &t) { return enqueue(t.db(), p); });
    assert_true(job.ok());
    auto pend = registration_pending(db, "UID-P");
    assert_true(pend.ok() && *pend);
    NewPending second = p;
    second.id = random_id();
    auto dup = with_txn(db, [&](Txn &t) { return enqueue(t.db(), second); });
    assert_errc(dup, Errc::conflict);

    auto v = find_pending(db, p.id, PendingKind::registration);
    assert_true(v.ok());
    assert_true(v->status == PendingStatus::pending);
    assert_errc(find_pending(db, p.id, PendingKind::transfer), Errc::not_found);
    assert_errc(find_pending(db, p.id, std::string_view("bogus")), Errc::not_found);
    assert_true(find_pending(db, p.id, std::string_view("registration")).ok());
    assert_int_equal(v->created_at.size(), 24);  // 2026-01-01T00:00:00.000Z

    auto a = set_pending_status(db, p.id, PendingStatus::anchoring, {PendingStatus::pending});
    assert_true(a.ok() && *a);
    auto wrong = set_pending_status(db, p.id, PendingStatus::confirmed, {PendingStatus::pending});
    assert_true(wrong.ok() && !*wrong);
    auto c = set_pending_status(db, p.id, PendingStatus::confirmed,
                                {PendingStatus::pending, PendingStatus::anchoring}, kTxA);
    assert_true(c.ok() && *c);
    auto seen = find_pending(db, p.id, PendingKind::registration);
    assert_true(seen->status == PendingStatus::confirmed);
    assert_true(seen->txid && *seen->txid == kTxA);
    auto freed = registration_pending(db, "UID-P");
    assert_true(freed.ok() && !*freed);
    assert_errc(set_pending_status(db, p.id, PendingStatus::failed, {}), Errc::invalid_argument);
}

// ---- identities, content, settings, stats --------------------------------

void identities(void **)
{
    Db db = connect_app();
    const std::string k1(66, '2'), k2(66, '3');
    assert_true(insert_pmc(db, "alice", k1).ok());
    assert_errc(insert_pmc(db, "alice", k2), Errc::conflict);
    auto k = find_pmc(db, "alice");
    assert_true(k.ok() && k->has_value() && **k == k1);
    auto none = find_pmc(db, "Alice");  // byte-exact user ids
    assert_true(none.ok() && !none->has_value());
    auto r = replace_pmc(db, "alice", k2);
    assert_true(r.ok() && *r);
    auto same = replace_pmc(db, "alice", k2);  // identical value still matches
    assert_true(same.ok() && *same);
    auto nobody = replace_pmc(db, "bob", k2);
    assert_true(nobody.ok() && !*nobody);

    auto nb = subject_not_before(db, "alice");
    assert_true(nb.ok() && !nb->has_value());
    assert_true(set_subject_not_before(db, "alice", kT0).ok());
    assert_true(set_subject_not_before(db, "alice", kT0 + 5).ok());
    nb = subject_not_before(db, "alice");
    assert_true(nb.ok() && nb->has_value());
    assert_int_equal(**nb, kT0 + 5);
}

void content_rows(void **)
{
    Db db = connect_app();
    auto none = find_content(db, "UID-X");
    assert_true(none.ok() && !none->has_value());
    const std::string nonce(24, '\0'), ct("\x00\xff\x01 bytes", 9);
    assert_true(put_content(db, "UID-X", nonce, ct, 3).ok());
    auto got = find_content(db, "UID-X");
    assert_true(got.ok() && got->has_value());
    assert_true((*got)->nonce == nonce);
    assert_true((*got)->ciphertext == ct);
    const std::string nonce2(24, '\x07');
    assert_true(put_content(db, "UID-X", nonce2, "other", 1).ok());  // replaces
    got = find_content(db, "UID-X");
    assert_true((*got)->nonce == nonce2 && (*got)->ciphertext == "other");
}

void settings_fee(void **)
{
    Db db = connect_app();
    auto unset = fee_per_kb_setting(db);
    assert_true(unset.ok() && !unset->has_value());
    assert_true(put_setting(db, kSettingFeePerKb, "750").ok());
    auto fee = fee_per_kb_setting(db);
    assert_true(fee.ok() && fee->has_value());
    assert_int_equal(**fee, 750);
    for (const char *bad : {"", "-1", "12x", " 5", "100000001", "99999999999999999999999"}) {
        assert_true(put_setting(db, kSettingFeePerKb, bad).ok());
        assert_errc(fee_per_kb_setting(db), Errc::invalid_argument);
    }
    assert_true(put_setting(db, kSettingFeePerKb, "100000000").ok());
    assert_int_equal(**fee_per_kb_setting(db), 100'000'000);
    assert_true(delete_setting(db, kSettingFeePerKb).ok());
    assert_false(fee_per_kb_setting(db)->has_value());
    auto other = get_setting(db, "NOPE");
    assert_true(other.ok() && !other->has_value());
}

void stats_list_every_pool_status(void **)
{
    Db db = connect_app();
    auto empty = utxos_by_status(db);
    assert_true(empty.ok());
    std::vector<std::string> names;
    for (const auto &c : *empty) {
        names.push_back(c.label);
        assert_int_equal(c.count, 0);
    }
    assert_int_equal(names.size(), 5);
    assert_string_equal(names[4].c_str(), "quarantined");
    assert_true(db.execute("INSERT INTO utxos (txid, vout, satoshis, key_id, script_hex, status) "
                           "VALUES (?, 0, 1000, ?, '76a9', 'available'), (?, 1, 5, ?, '76a9', 'available')",
                           {kTxA, std::string_view(std::string(66, 'k')), kTxA, std::string_view(std::string(66, 'k'))})
                    .ok());
    auto some = utxos_by_status(db);
    assert_true(some.ok());
    for (const auto &c : *some)
        assert_int_equal(c.count, c.label == "available" ? 2 : 0);
    auto jobs = jobs_by_step(db);
    assert_true(jobs.ok());
    assert_true(jobs->empty());
}

}  // namespace

int main()
{
    signal(SIGPIPE, SIG_IGN);
    const CMUnitTest tests[] = {
        cmocka_unit_test_setup(lease_second_holder_conflicts, clean),
        cmocka_unit_test_setup(lease_renew_and_release, clean),
        cmocka_unit_test_setup(lease_expired_is_taken_over, clean),
        cmocka_unit_test_setup(lease_two_takers_one_winner, clean),
        cmocka_unit_test_setup(patch_state_and_transfer_lock, clean),
        cmocka_unit_test_setup(enum_texts_are_one_mapping, clean),
        cmocka_unit_test_setup(claim_transitions, clean),
        cmocka_unit_test_setup(pending_states, clean),
        cmocka_unit_test_setup(identities, clean),
        cmocka_unit_test_setup(content_rows, clean),
        cmocka_unit_test_setup(settings_fee, clean),
        cmocka_unit_test_setup(stats_list_every_pool_status, clean),
    };
    return cmocka_run_group_tests_name("repos", tests, group_setup, group_teardown);
}

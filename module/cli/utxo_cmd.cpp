// SPDX-License-Identifier: MIT
#include "cli/utxo_cmd.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <jansson.h>
#include <sodium.h>

#include "admin/maintain.h"
#include "chain/client.h"
#include "cli/support.h"
#include "common/json.h"
#include "config/config.h"
#include "crypto/base58.h"
#include "crypto/encoding.h"
#include "crypto/secp256k1.h"
#include "crypto/tx.h"
#include "store/db.h"
#include "store/txn.h"
#include "store/utxo_pool.h"

namespace pp::cli {
namespace {

int usage()
{
    std::fputs("usage: patchproof utxo add --txid T --vout N --satoshis S --key-id PUBKEY_HEX --script HEX\n"
               "                          [--status available|unconfirmed] [--no-check] [--exclusive --confirm]\n"
               "       patchproof utxo reap     frees locks older than UTXO_LOCK_TIMEOUT_MIN of unsigned jobs\n"
               "       patchproof utxo stats    counts and satoshis per status, as JSON\n"
               "       patchproof utxo maintain --action auto|sync|sweep|split [--dry-run]\n"
               "                                the route's maintenance run (same code, same lease);\n"
               "                                --dry-run plans only (no lease, no writes). Exit 0 done\n"
               "                                (every job signed), 3 waiting ended before every job was\n"
               "                                signed (the worker finishes them), 4 another run holds the\n"
               "                                lease or a sweep/split job is unfinished, 1 failure, 2 usage\n",
               stderr);
    return 2;
}

int fail(const char *what, Errc e) { return report_failure("utxo", what, e, false); }

// Heuristic for the one mistake that must never reach the pool or a log: a
// private key (32-byte hex or WIF) pasted where the public key id belongs.
bool looks_like_private_key(std::string_view s)
{
    if (s.size() == 64 && crypto::is_hex(s))
        return true;
    if ((s.size() == 51 || s.size() == 52) && crypto::base58check_decode(s).ok())
        return true;
    return false;
}

struct AddArgs {
    std::string txid, key_id, script_hex, status = "available";
    std::optional<uint32_t> vout;
    std::optional<uint64_t> satoshis;
    bool check = true, exclusive = false, confirm = false;
};

// Confirms on chain that (txid, vout) pays exactly `satoshis` to the address
// and is unspent. Returns an exit code, 0 when it is.
int check_on_chain(const config::Config &cfg, const AddArgs &a, const crypto::Hash160 &pkh, bool *unconfirmed)
{
    if (cfg.chain_api_url.empty()) {
        std::fputs("utxo add: CHAIN_API_URL is not set (or pass --no-check)\n", stderr);
        return 2;
    }
    auto net = crypto::parse_network(cfg.chain_network);
    if (!net)
        return fail("CHAIN_NETWORK is not main or test", net.error());
    chain::ChainOptions opt;
    opt.base_url = cfg.chain_api_url;
    opt.network = *net == crypto::Network::main ? "main" : "test";
    opt.api_key = std::string(cfg.woc_api_key.reveal());
    opt.timeout_ms = cfg.chain_timeout_ms;
    auto client = chain::Client::create(std::move(opt));
    if (!client)
        return fail("bad chain client settings (CHAIN_API_URL)", client.error());
    const std::string address = crypto::p2pkh_address(pkh, *net);
    auto outs = client->unspent(address);
    if (!outs)
        return fail("cannot list the address's unspent outputs", outs.error());
    for (const chain::Unspent &u : *outs) {
        if (u.txid != a.txid || u.vout != *a.vout)
            continue;
        if (u.satoshis != *a.satoshis) {
            std::fprintf(stderr, "utxo add: the chain says this output holds %llu satoshis, not %llu\n",
                         static_cast<unsigned long long>(u.satoshis), static_cast<unsigned long long>(*a.satoshis));
            return 1;
        }
        *unconfirmed = u.confirmations == 0;
        return 0;
    }
    std::fprintf(stderr, "utxo add: %s:%u is not an unspent output of %s on %s\n", a.txid.c_str(), *a.vout,
                 address.c_str(), cfg.chain_network.c_str());
    return 1;
}

// Reads add's options into `a`. Returns 0, or the exit code for a bad command line.
int parse_add_args(int argc, char **argv, AddArgs &a)
{
    for (int i = 0; i < argc; ++i) {
        const std::string_view arg = argv[i];
        std::string_view value;
        std::string_view key = arg;
        bool inline_value = false;
        if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string_view::npos) {
            key = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            inline_value = true;
        }
        auto take = [&](std::string_view *out) {
            if (inline_value) {
                *out = value;
                return true;
            }
            if (i + 1 >= argc)
                return false;
            *out = argv[++i];
            return true;
        };
        std::string_view v;
        if (key == "--no-check" && !inline_value) {
            a.check = false;
        } else if (key == "--exclusive" && !inline_value) {
            a.exclusive = true;
        } else if (key == "--confirm" && !inline_value) {
            a.confirm = true;
        } else if (key == "--txid" && take(&v)) {
            a.txid = std::string(v);
        } else if (key == "--vout" && take(&v)) {
            uint32_t n = 0;
            if (!parse_uint(v, &n)) {
                std::fputs("utxo add: --vout must be an integer 0..4294967295\n", stderr);
                return 2;
            }
            a.vout = n;
        } else if (key == "--satoshis" && take(&v)) {
            uint64_t n = 0;
            if (!parse_uint(v, &n) || n == 0 || n > crypto::MAX_MONEY) {
                std::fputs("utxo add: --satoshis must be an integer 1..2100000000000000\n", stderr);
                return 2;
            }
            a.satoshis = n;
        } else if (key == "--key-id" && take(&v)) {
            if (looks_like_private_key(v)) {
                // Wipe our copy of it in argv (ps shows it until here).
                sodium_memzero(const_cast<char *>(v.data()), v.size());
                std::fputs("utxo add: --key-id looks like a PRIVATE key; it was not used or stored. Pass the "
                           "compressed public key (66 hex) the KMS uses as keyIdentifier.\n",
                           stderr);
                return 2;
            }
            a.key_id = std::string(v);
        } else if (key == "--script" && take(&v)) {
            a.script_hex = std::string(v);
        } else if (key == "--status" && take(&v)) {
            a.status = std::string(v);
        } else {
            return usage();
        }
    }
    return 0;
}

// Checks the options against each other and normalises them (lower-case hex,
// key id re-encoded), and gives the script's hash160. Returns 0 or an exit code.
int check_add_args(AddArgs &a, crypto::Hash160 &pkh_out)
{
    if (a.txid.empty() || !a.vout || !a.satoshis || a.key_id.empty() || a.script_hex.empty())
        return usage();
    if (a.status != "available" && a.status != "unconfirmed") {
        std::fputs("utxo add: --status must be available or unconfirmed\n", stderr);
        return 2;
    }
    if (a.exclusive && !a.confirm) {
        std::fputs("utxo add: --exclusive marks every other available or unconfirmed pool entry spent; "
                   "add --confirm to do that\n",
                   stderr);
        return 2;
    }
    if (a.txid.size() != 64 || !crypto::is_hex(a.txid)) {
        std::fputs("utxo add: --txid must be 64 hex digits\n", stderr);
        return 2;
    }
    for (char &c : a.txid)
        c = static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);

    if (!crypto::secp_init()) {
        std::fputs("utxo add: crypto initialisation failed\n", stderr);
        return 1;
    }
    crypto::PubKey33 pub{};
    if (!crypto::hex_decode_into(pub, a.key_id) || !crypto::parse_pubkey(pub)) {
        std::fputs("utxo add: --key-id must be a compressed public key (66 hex, 02/03 prefix, on the curve)\n",
                   stderr);
        return 2;
    }
    a.key_id = crypto::hex_encode(pub);
    auto script = crypto::hex_decode(a.script_hex);
    auto pkh = script ? crypto::p2pkh_script_hash(*script) : Result<crypto::Hash160>(Errc::bad_hex);
    if (!pkh) {
        std::fputs("utxo add: --script must be a P2PKH locking script in hex (76a914…88ac)\n", stderr);
        return 2;
    }
    if (crypto::pubkey_hash(pub) != *pkh) {
        std::fputs("utxo add: --script does not pay to --key-id (hash160 differs)\n", stderr);
        return 2;
    }
    a.script_hex = crypto::hex_encode(*script);
    pkh_out = *pkh;
    return 0;
}

// The pool writes. With --exclusive, the add and marking the others spent are
// one transaction, so a failure leaves the pool as it was.
int apply_add(store::Db &db, const AddArgs &a)
{
    struct Added {
        uint64_t id = 0, others = 0;
    };
    auto done = store::with_txn(db, [&](store::Txn &t) -> Result<Added> {
        store::UtxoPool pool(t.db());
        auto id = pool.add(a.txid, *a.vout, *a.satoshis, a.key_id, a.script_hex, a.status);
        if (!id)
            return id.error();
        Added out{*id, 0};
        if (a.exclusive) {
            auto n = pool.mark_others_spent(*id);
            if (!n)
                return n.error();
            out.others = *n;
        }
        return out;
    });
    if (!done) {
        if (done.error() == Errc::conflict) {
            std::fputs("utxo add: this outpoint is already in the pool\n", stderr);
            return 1;
        }
        return fail(a.exclusive ? "cannot add the output and mark the others spent; nothing was changed"
                                : "cannot add the output",
                    done.error());
    }
    json_t *out = json_object();
    json_object_set_new(out, "id", json_integer(static_cast<json_int_t>(done->id)));
    json_object_set_new(out, "txid", json_string(a.txid.c_str()));
    json_object_set_new(out, "vout", json_integer(*a.vout));
    json_object_set_new(out, "satoshis", json_integer(static_cast<json_int_t>(*a.satoshis)));
    json_object_set_new(out, "keyIdentifier", json_string(a.key_id.c_str()));
    json_object_set_new(out, "status", json_string(a.status.c_str()));
    json_object_set_new(out, "checkedOnChain", json_boolean(a.check));
    if (a.exclusive)
        json_object_set_new(out, "othersMarkedSpent", json_integer(static_cast<json_int_t>(done->others)));
    return print_json_line(out);
}

int cmd_add(int argc, char **argv)
{
    AddArgs a;
    if (int rc = parse_add_args(argc, argv, a); rc != 0)
        return rc;
    crypto::Hash160 pkh{};
    if (int rc = check_add_args(a, pkh); rc != 0)
        return rc;
    auto env = open_admin_env("utxo");
    if (!env)
        return 1;
    bool unconfirmed = false;
    if (a.check) {
        if (int rc = check_on_chain(env->cfg, a, pkh, &unconfirmed); rc != 0)
            return rc;
        if (unconfirmed && a.status == "available")
            std::fputs("utxo add: note: the output is still unconfirmed on chain\n", stderr);
    }
    return apply_add(*env->db, a);
}

int cmd_reap(int argc, char **)
{
    if (argc != 0)
        return usage();
    auto env = open_admin_env("utxo");
    if (!env)
        return 1;
    const int64_t now = now_ms();
    const int64_t minutes = env->cfg.utxo_lock_timeout_min;
    store::UtxoPool pool(*env->db);
    auto n = pool.reap(now - minutes * 60'000, now);
    if (!n)
        return fail("reap failed", n.error());
    return print_json_line(json_pack("{s:I,s:I}", "freed", static_cast<json_int_t>(*n), "olderThanMinutes",
                                static_cast<json_int_t>(minutes)));
}

int cmd_stats(int argc, char **)
{
    if (argc != 0)
        return usage();
    auto env = open_admin_env("utxo");
    if (!env)
        return 1;
    store::UtxoPool pool(*env->db);
    auto st = pool.stats();
    if (!st)
        return fail("stats failed", st.error());
    json_t *out = json_object();
    const std::pair<const char *, const store::PoolBucket *> buckets[] = {
        {"unconfirmed", &st->unconfirmed}, {"available", &st->available},
        {"locked", &st->locked},           {"spent", &st->spent},
        {"quarantined", &st->quarantined}};
    for (const auto &[label, b] : buckets)
        json_object_set_new(out, label, json_pack("{s:I,s:I}", "count", static_cast<json_int_t>(b->count),
                                                  "satoshis", static_cast<json_int_t>(b->total_satoshis)));
    return print_json_line(out);
}

int cmd_maintain(int argc, char **argv)
{
    std::optional<admin::Action> action;
    bool dry_run = false;
    for (int i = 0; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--dry-run") {
            dry_run = true;
        } else if (a == "--action" && i + 1 < argc) {
            action = admin::action_from_text(argv[++i]);
            if (!action)
                return usage();
        } else if (a.rfind("--action=", 0) == 0) {
            action = admin::action_from_text(a.substr(9));
            if (!action)
                return usage();
        } else {
            return usage();
        }
    }
    if (!action)
        return usage();
    auto env = open_admin_env("utxo maintain");
    if (!env)
        return 1;
    auto s = admin::resolve_settings(*env->db, env->cfg);
    if (!s)
        return fail("cannot read the settings table", s.error());
    auto chain = admin::chain_client(env->cfg);
    auto out = admin::run_maintain(*env->db, chain ? &*chain : nullptr, *s, *action, dry_run);
    if (!out) {
        if (out.error() == Errc::conflict) {
            print_json_line(json_pack("{s:b,s:s,s:s}", "success", 0, "error", "CONFLICT", "message",
                                      "another maintenance run holds the lease, or a sweep/split job is unfinished"));
            return 4;
        }
        if (out.error() == Errc::invalid_argument)
            std::fputs("utxo maintain: UTXO_FUNDING_ADDRESS/KEY_ID or UTXO_CHANGE_ADDRESS/KEY_ID unset or not "
                       "matching\n",
                       stderr);
        print_json_line(json_pack("{s:b,s:s}", "success", 0, "error", std::string(errc_name(out.error())).c_str()));
        return fail("maintenance failed", out.error());
    }
    const bool failed = out->any_failed;
    const bool waiting = !out->all_signed;
    if (print_json_line(out->body.release()) != 0)
        return 1;
    return failed ? 1 : waiting ? 3 : 0;
}

}  // namespace

int cmd_utxo(int argc, char **argv)
{
    return run_subcommand(argc, argv,
                          {{"add", cmd_add}, {"reap", cmd_reap}, {"stats", cmd_stats}, {"maintain", cmd_maintain}},
                          usage);
}

}  // namespace pp::cli

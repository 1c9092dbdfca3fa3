// SPDX-License-Identifier: MIT
// module/kms/keystore: create, reopen, look up, sign and derive with keys
// at rest; a wrong master key, a wrong passphrase and every kind of tampering
// are refused; the file is written 0600; a second writer's keys are picked
// up by refresh(). Each test works in its own temporary directory.
// <fstream> before cmocka: its fail() macro breaks std::basic_ios.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "vectors.h"

#include "crypto/encoding.h"
#include "crypto/svd.h"
#include "kms/keystore.h"

using namespace pp;
using namespace pp::kms;

namespace {

constexpr const char *kMasterHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr const char *kOtherHex = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
// The cheapest Argon2id cost: the tests check the plumbing, not the cost.
constexpr KdfLimits kFastKdf{crypto_pwhash_OPSLIMIT_MIN, 8u << 20};

struct TempDir {
    std::string path;
    std::string file(const char *name) const { return path + "/" + name; }
};

MasterKey master(const char *hex = kMasterHex)
{
    auto mk = MasterKey::from_hex(hex);
    assert_true(mk.ok());
    return std::move(*mk);
}

std::string read_text(const std::string &path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_text(const std::string &path, const std::string &text)
{
    std::ofstream out(path, std::ios::trunc);
    out << text;
}

// A keystore with issuer, svd and a second issuer key; returns its path.
std::string make_store(const TempDir &dir)
{
    const std::string path = dir.file("keystore.json");
    std::string detail;
    auto ks = Keystore::open(path, master(), Keystore::IfMissing::empty, &detail);
    assert_true(ks.ok());
    assert_int_equal(ks->keys().size(), 0);
    for (const char *label : {"issuer", "svd", "issuer"}) {
        auto k = ks->generate(label, &detail);
        assert_true(k.ok());
        assert_string_equal(k->label.c_str(), label);
        assert_int_equal(k->key_identifier.size(), 66);
    }
    return path;
}

void mutate(const std::string &path, const std::string &from, const std::string &to)
{
    std::string text = read_text(path);
    const size_t at = text.find(from);
    assert_true(at != std::string::npos);
    text.replace(at, from.size(), to);
    write_text(path, text);
}

}  // namespace

static int setup(void **state)
{
    if (!crypto::secp_init())
        return -1;
    char tmpl[] = "/tmp/pp-keystore-XXXXXX";
    if (!mkdtemp(tmpl))
        return -1;
    *state = new TempDir{tmpl};
    return 0;
}

static int teardown(void **state)
{
    auto *dir = static_cast<TempDir *>(*state);
    if (DIR *d = opendir(dir->path.c_str())) {
        while (dirent *e = readdir(d))
            if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..")
                unlink(dir->file(e->d_name).c_str());
        closedir(d);
    }
    rmdir(dir->path.c_str());
    delete dir;
    return 0;
}

static void create_reopen_lookup(void **state)
{
    const auto &dir = *static_cast<TempDir *>(*state);
    const std::string path = make_store(dir);
    std::string detail;
    auto ks = Keystore::open(path, master(), Keystore::IfMissing::fail, &detail);
    assert_true(ks.ok());
    assert_int_equal(ks->keys().size(), 3);

    const KeyInfo &first = ks->keys()[0];
    const KeyInfo *by_hex = ks->find(first.key_identifier);
    assert_ptr_equal(by_hex, &first);
    std::string upper = first.key_identifier;
    for (char &c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    assert_ptr_equal(ks->find(upper), &first);
    assert_ptr_equal(ks->find(std::span<const uint8_t, 33>(first.pubkey)), &first);

    // Same second: the later entry wins.
    const KeyInfo *issuer = ks->latest("issuer");
    assert_non_null(issuer);
    assert_true(issuer->created_at >= first.created_at);
    assert_ptr_equal(issuer, &ks->keys()[2]);
    assert_non_null(ks->latest("svd"));
    assert_null(ks->latest("funding"));
}

static void unknown_key(void **state)
{
    const auto &dir = *static_cast<TempDir *>(*state);
    const std::string path = make_store(dir);
    auto ks = Keystore::open(path, master(), Keystore::IfMissing::fail, nullptr);
    assert_true(ks.ok());
    assert_null(ks->find("02" + std::string(64, 'a')));
    assert_null(ks->find("not hex"));
    assert_null(ks->find(""));
    // A KeyInfo that is not one of ours is refused, even with a known identifier.
    KeyInfo copy = ks->keys()[0];
    crypto::Hash256 digest{};
    auto sig = ks->sign(copy, digest);
    assert_false(sig.ok());
    assert_int_equal(static_cast<int>(sig.error()), static_cast<int>(Errc::not_found));
}

static void sign_and_derive(void **state)
{
    const auto &dir = *static_cast<TempDir *>(*state);
    const std::string path = make_store(dir);
    auto ks = Keystore::open(path, master(), Keystore::IfMissing::fail, nullptr);
    assert_true(ks.ok());

    const KeyInfo *issuer = ks->latest("issuer");
    crypto::Hash256 digest = crypto::sha256(crypto::as_bytes("patchproof"));
    auto der = ks->sign(*issuer, digest);
    assert_true(der.ok());
    auto pk = crypto::parse_pubkey(issuer->pubkey);
    assert_true(pk.ok());
    assert_true(crypto::ecdsa_verify_der(*der, digest, *pk).ok());  // strict DER, low-S, valid

    // S from the KMS side equals S from the client side of the same ECDH.
    const KeyInfo *svd = ks->latest("svd");
    crypto::Secret<32> pmc_priv;
    do {
        randombytes_buf(pmc_priv.data(), pmc_priv.size());
    } while (!crypto::seckey_valid(pmc_priv));
    auto pmc = crypto::pubkey_from_seckey(pmc_priv);
    assert_true(pmc.ok());
    Bytes m = test::unhex("0000000065f1a2b3000102030405060708090a0b0c0d0e0f");
    auto s = ks->svd_shared_secret(*svd, *pmc, m);
    assert_true(s.ok());
    auto pms_pub = crypto::parse_pubkey(svd->pubkey);
    assert_true(pms_pub.ok());
    auto x = crypto::svd_ecdh_x_client(pmc_priv, *pms_pub, crypto::sha256(m));
    assert_true(x.ok());
    const crypto::PubKey33 pmc33 = crypto::serialize_pubkey(*pmc);
    crypto::Secret<32> expect = crypto::svd_session_key(svd->pubkey, pmc33, m, *x);
    assert_true(crypto::equal_ct(s->span(), expect.span()));
}

static void file_mode_0600(void **state)
{
    const auto &dir = *static_cast<TempDir *>(*state);
    const std::string path = make_store(dir);
    struct stat st{};
    assert_int_equal(stat(path.c_str(), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    // No private key material in the clear: nothing but public hex and sealed blobs.
    const std::string text = read_text(path);
    assert_non_null(std::strstr(text.c_str(), "\"sealed\""));
    assert_non_null(std::strstr(text.c_str(), "\"mac\""));
}

static void missing_file(void **state)
{
    const auto &dir = *static_cast<TempDir *>(*state);
    std::string detail;
    auto ks = Keystore::open(dir.file("none.json"), master(), Keystore::IfMissing::fail, &detail);
    assert_false(ks.ok());
    assert_int_equal(static_cast<int>(ks.error()), static_cast<int>(Errc::not_found));
    auto empty = Keystore::open(dir.file("none.json"), master(), Keystore::IfMissing::empty, &detail);
    assert_true(empty.ok());
    assert_int_equal(empty->keys().size(), 0);
    // Opening does not create the file; only generate() does.
    assert_int_not_equal(access(dir.file("none.json").c_str(), F_OK), 0);
}

static void wrong_master_key(void **state)
{
    const auto &dir = *static_cast<TempDir *>(*state);
    const std::string path = make_store(dir);
    std::string detail;
    auto ks = Keystore::open(path, master(kOtherHex), Keystore::IfMissing::fail, &detail);
    assert_false(ks.ok());
    assert_int_equal(static_cast<int>(ks.error()), static_cast<int>(Errc::verify_failed));
    assert_null(std::strstr(detail.c_str(), kOtherHex));
    assert_null(std::strstr(detail.c_str(), kMasterHex));
}

static void tampered_file(void **state)
{
    const auto &dir = *static_cast<TempDir *>(*state);
    const std::string path = make_store(dir);
    const std::string original = read_text(path);
    auto expect = [&](Errc want) {
        auto ks = Keystore::open(path, master(), Keystore::IfMissing::fail, nullptr);
        assert_false(ks.ok());
        assert_int_equal(static_cast<int>(ks.error()), static_cast<int>(want));
        write_text(path, original);
    };
    // Relabel a key (svd -> funding).
    mutate(path, "\"svd\"", "\"funding\"");
    expect(Errc::verify_failed);
    // Flip one hex digit of a sealed key.
    {
        std::string text = original;
        const size_t at = text.find("\"sealed\": \"") + 11;
        text[at] = text[at] == '0' ? '1' : '0';
        write_text(path, text);
        expect(Errc::verify_failed);
    }
    // Change a creation time.
    {
        std::string text = original;
        const size_t at = text.find("\"created_at\": ") + 14;
        text[at] = text[at] == '1' ? '2' : '1';
        write_text(path, text);
        expect(Errc::verify_failed);
    }
    // Drop the first key entry (the MAC covers the whole list).
    {
        std::string text = original;
        const size_t start = text.find("{", text.find("\"keys\""));
        const size_t end = text.find("}", start);
        text.erase(start, end - start + 1);
        const size_t comma = text.find(",", start);
        text.erase(start, comma - start + 1);
        write_text(path, text);
        expect(Errc::verify_failed);
    }
    // Truncated, unknown field, other version.
    write_text(path, original.substr(0, original.size() / 2));
    expect(Errc::parse_error);
    mutate(path, "\"keys\"", "\"extra\": 1, \"keys\"");
    expect(Errc::parse_error);
    mutate(path, "\"version\": 1", "\"version\": 2");
    expect(Errc::bad_version);
    // And the untouched file still opens.
    auto ks = Keystore::open(path, master(), Keystore::IfMissing::fail, nullptr);
    assert_true(ks.ok());
}

static void passphrase_mode(void **state)
{
    const auto &dir = *static_cast<TempDir *>(*state);
    const std::string path = dir.file("pass.json");
    std::string detail;
    {
        auto mk = MasterKey::from_passphrase("correct horse battery staple", kFastKdf);
        assert_true(mk.ok());
        assert_true(mk->uses_passphrase());
        auto ks = Keystore::open(path, std::move(*mk), Keystore::IfMissing::empty, &detail);
        assert_true(ks.ok());
        assert_true(ks->generate("funding", &detail).ok());
        assert_true(ks->generate("change", &detail).ok());
    }
    const std::string text = read_text(path);
    assert_non_null(std::strstr(text.c_str(), "argon2id13"));
    assert_null(std::strstr(text.c_str(), "correct horse"));
    {
        auto mk = MasterKey::from_passphrase("correct horse battery staple", kFastKdf);
        auto ks = Keystore::open(path, std::move(*mk), Keystore::IfMissing::fail, &detail);
        assert_true(ks.ok());
        assert_int_equal(ks->keys().size(), 2);
        assert_non_null(ks->latest("funding"));
    }
    {
        auto mk = MasterKey::from_passphrase("wrong horse battery staple", kFastKdf);
        auto ks = Keystore::open(path, std::move(*mk), Keystore::IfMissing::fail, &detail);
        assert_false(ks.ok());
        assert_int_equal(static_cast<int>(ks.error()), static_cast<int>(Errc::verify_failed));
    }
    // A raw key cannot open a passphrase file, nor the reverse.
    auto raw = Keystore::open(path, master(), Keystore::IfMissing::fail, &detail);
    assert_false(raw.ok());
    assert_int_equal(static_cast<int>(raw.error()), static_cast<int>(Errc::invalid_argument));
    const std::string raw_path = make_store(dir);
    auto mk = MasterKey::from_passphrase("correct horse battery staple", kFastKdf);
    auto pass = Keystore::open(raw_path, std::move(*mk), Keystore::IfMissing::fail, &detail);
    assert_false(pass.ok());
    assert_int_equal(static_cast<int>(pass.error()), static_cast<int>(Errc::invalid_argument));
}

static void refresh_sees_other_writer(void **state)
{
    const auto &dir = *static_cast<TempDir *>(*state);
    const std::string path = make_store(dir);
    std::string detail;
    auto a = Keystore::open(path, master(), Keystore::IfMissing::fail, &detail);
    auto b = Keystore::open(path, master(), Keystore::IfMissing::fail, &detail);
    assert_true(a.ok() && b.ok());
    auto r = a->refresh(&detail);
    assert_true(r.ok());
    assert_false(*r);  // unchanged
    auto k = b->generate("funding", &detail);
    assert_true(k.ok());
    r = a->refresh(&detail);
    assert_true(r.ok());
    assert_true(*r);
    assert_int_equal(a->keys().size(), 4);
    assert_non_null(a->find(k->key_identifier));
    // A's own keygen keeps B's key (read-modify-write under the lock).
    assert_true(a->generate("change", &detail).ok());
    auto c = Keystore::open(path, master(), Keystore::IfMissing::fail, &detail);
    assert_true(c.ok());
    assert_int_equal(c->keys().size(), 5);

    // A broken file is reported once; the loaded keys stay in use.
    write_text(path, "{");
    r = a->refresh(&detail);
    assert_false(r.ok());
    assert_int_equal(a->keys().size(), 5);
    r = a->refresh(&detail);
    assert_true(r.ok());
    assert_false(*r);
}

static void invalid_arguments(void **state)
{
    const auto &dir = *static_cast<TempDir *>(*state);
    assert_false(MasterKey::from_hex("").ok());
    assert_false(MasterKey::from_hex(std::string(63, 'a')).ok());
    assert_false(MasterKey::from_hex(std::string(66, 'a')).ok());
    assert_false(MasterKey::from_hex(std::string(64, 'g')).ok());
    assert_false(MasterKey::from_passphrase("").ok());

    std::string detail;
    auto both = MasterKey::from_env(
        [](const char *n) -> const char * { return std::string_view(n) == "KMS_MASTER_KEY" ? kMasterHex : "pw"; },
        &detail);
    assert_false(both.ok());
    auto none = MasterKey::from_env([](const char *) -> const char * { return nullptr; }, &detail);
    assert_false(none.ok());
    auto bad = MasterKey::from_env(
        [](const char *n) -> const char * { return std::string_view(n) == "KMS_MASTER_KEY" ? "zz" : nullptr; },
        &detail);
    assert_false(bad.ok());
    assert_null(std::strstr(detail.c_str(), "zz"));
    auto good = MasterKey::from_env(
        [](const char *n) -> const char * { return std::string_view(n) == "KMS_MASTER_KEY" ? kMasterHex : nullptr; },
        &detail);
    assert_true(good.ok());
    assert_false(good->uses_passphrase());

    auto ks = Keystore::open(dir.file("x.json"), master(), Keystore::IfMissing::empty, &detail);
    assert_true(ks.ok());
    auto k = ks->generate("root", &detail);
    assert_false(k.ok());
    assert_int_equal(static_cast<int>(k.error()), static_cast<int>(Errc::invalid_argument));
    assert_false(valid_label(""));
    assert_true(valid_label("change"));
    assert_string_equal(format_utc(0).c_str(), "1970-01-01T00:00:00Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_reopen_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_key, setup, teardown),
        cmocka_unit_test_setup_teardown(sign_and_derive, setup, teardown),
        cmocka_unit_test_setup_teardown(file_mode_0600, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_master_key, setup, teardown),
        cmocka_unit_test_setup_teardown(tampered_file, setup, teardown),
        cmocka_unit_test_setup_teardown(passphrase_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(refresh_sees_other_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

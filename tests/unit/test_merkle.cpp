// SPDX-License-Identifier: MIT
// Batch-anchor Merkle tree tests. The reference below builds every level of
// the tree explicitly (odd levels padded by copying the last node), which is a
// different construction from the in-place climb in merkle.cpp.
#include "vectors.h"

#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/merkle.h"

using namespace pp;
using namespace pp::crypto;

namespace {

#define ASSERT_ERR(expr, code)                                                        \
    do {                                                                              \
        auto r_ = (expr);                                                             \
        assert_false(r_.ok());                                                        \
        assert_string_equal(std::string(errc_name(r_.error())).c_str(),               \
                            std::string(errc_name(code)).c_str());                    \
    } while (0)

Hash256 leaf_hash(size_t k)
{
    const std::string s = "record-" + std::to_string(k);
    return sha256(as_bytes(s));
}

std::vector<Hash256> make_leaves(size_t n)
{
    std::vector<Hash256> v;
    for (size_t k = 0; k < n; ++k)
        v.push_back(leaf_hash(k));
    return v;
}

// SHA-256(left || right) through the incremental interface, not a 64-byte buffer.
Hash256 ref_parent(const Hash256 &l, const Hash256 &r)
{
    Sha256 h;
    h.update(l).update(r);
    return h.finish();
}

// levels[0] = leaves; each odd level is padded with a copy of its last node
// before the next level is built, so levels[L][i ^ 1] always exists.
std::vector<std::vector<Hash256>> ref_levels(const std::vector<Hash256> &leaves)
{
    std::vector<std::vector<Hash256>> levels{leaves};
    while (levels.back().size() > 1) {
        std::vector<Hash256> &cur = levels.back();
        if (cur.size() % 2 == 1)
            cur.push_back(cur.back());
        std::vector<Hash256> up;
        for (size_t i = 0; i < cur.size(); i += 2)
            up.push_back(ref_parent(cur[i], cur[i + 1]));
        levels.push_back(std::move(up));
    }
    return levels;
}

std::vector<MerkleStep> ref_path(const std::vector<std::vector<Hash256>> &levels, size_t index)
{
    std::vector<MerkleStep> path;
    for (size_t L = 0; L + 1 < levels.size(); ++L) {
        path.push_back({levels[L][index ^ 1], (index & 1) ? Side::left : Side::right});
        index >>= 1;
    }
    return path;
}

size_t ceil_log2(size_t n)
{
    size_t d = 0;
    while ((size_t{1} << d) < n)
        ++d;
    return d;
}

void check_tree(size_t n, size_t &paths_checked)
{
    const std::vector<Hash256> leaves = make_leaves(n);
    const auto levels = ref_levels(leaves);
    const Hash256 want_root = levels.back()[0];

    auto root = merkle_root(leaves);
    assert_true(root.ok());
    assert_memory_equal(root->data(), want_root.data(), 32);

    for (size_t i = 0; i < n; ++i) {
        auto path = merkle_path(leaves, i);
        assert_true(path.ok());
        const auto want = ref_path(levels, i);
        assert_int_equal(path->size(), want.size());
        assert_int_equal(path->size(), ceil_log2(n));
        for (size_t s = 0; s < want.size(); ++s) {
            assert_memory_equal((*path)[s].hash.data(), want[s].hash.data(), 32);
            assert_int_equal((*path)[s].side == want[s].side, 1);
        }
        assert_true(merkle_verify(leaves[i], *path, *root));
        ++paths_checked;
    }
}

// ---- tests ----------------------------------------------------------------

void test_roots_and_paths(void **)
{
    size_t trees = 0, paths = 0;
    for (size_t n : {1, 2, 3, 4, 5, 7, 8}) {
        check_tree(n, paths);
        ++trees;
    }
    // Wider sweep across several odd/even level patterns.
    for (size_t n = 9; n <= 40; ++n) {
        check_tree(n, paths);
        ++trees;
    }
    print_message("merkle: %zu trees, %zu paths checked against the reference\n", trees, paths);
    assert_int_equal(paths, 1 + 2 + 3 + 4 + 5 + 7 + 8 + (9 + 40) * 32 / 2);
}

void test_one_leaf(void **)
{
    const Hash256 leaf = leaf_hash(42);
    const Hash256 one[] = {leaf};
    auto root = merkle_root(one);
    assert_true(root.ok());
    assert_true(*root == leaf);
    auto path = merkle_path(one, 0);
    assert_true(path.ok());
    assert_true(path->empty());
    assert_true(merkle_verify(leaf, *path, leaf));
    Hash256 other = leaf;
    other[0] ^= 1;
    assert_false(merkle_verify(other, *path, leaf));
}

void test_known_answer_three(void **)
{
    // Leaves SHA256("a"), SHA256("b"), SHA256("c"). Expected root computed once
    // with Python hashlib: H(H(a||b) || H(c||c)).
    const Hash256 leaves[] = {sha256(as_bytes("a")), sha256(as_bytes("b")), sha256(as_bytes("c"))};
    assert_string_equal(hex_encode(leaves[0]).c_str(),
                        "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb");
    auto root = merkle_root(leaves);
    assert_true(root.ok());
    assert_string_equal(hex_encode(*root).c_str(),
                        "d31a37ef6ac14a2db1470c4316beb5592e6afd4465022339adafda76a18ffabe");

    // Leaf c: sibling is itself on the right, then H(a||b) on the left.
    auto p = merkle_path(leaves, 2);
    assert_true(p.ok());
    assert_int_equal(p->size(), 2);
    assert_true((*p)[0].hash == leaves[2]);
    assert_string_equal(std::string(side_name((*p)[0].side)).c_str(), "right");
    assert_string_equal(std::string(side_name((*p)[1].side)).c_str(), "left");
    assert_true(merkle_verify(leaves[2], *p, *root));

    auto p1 = merkle_path(leaves, 1);
    assert_true(p1.ok());
    assert_true((*p1)[0].hash == leaves[0]);
    assert_int_equal((*p1)[0].side == Side::left, 1);
    assert_int_equal((*p1)[1].side == Side::right, 1);
}

void test_tampering(void **)
{
    size_t cases = 0;
    for (size_t n : {2, 3, 4, 5, 7, 8}) {
        const std::vector<Hash256> leaves = make_leaves(n);
        const Hash256 root = *merkle_root(leaves);
        for (size_t i = 0; i < n; ++i) {
            const std::vector<MerkleStep> path = *merkle_path(leaves, i);

            // Tampered leaf: every byte position.
            for (size_t b = 0; b < 32; ++b) {
                Hash256 bad = leaves[i];
                bad[b] ^= 0x01;
                assert_false(merkle_verify(bad, path, root));
                ++cases;
            }
            // Tampered step hash.
            for (size_t s = 0; s < path.size(); ++s) {
                std::vector<MerkleStep> bad = path;
                bad[s].hash[31] ^= 0x80;
                assert_false(merkle_verify(leaves[i], bad, root));
                ++cases;
            }
            // Flipped side. When a node is paired with itself the sibling equals
            // the running hash and the side makes no difference, so skip those.
            Hash256 running = leaves[i];
            for (size_t s = 0; s < path.size(); ++s) {
                const MerkleStep &st = path[s];
                if (st.hash != running) {
                    std::vector<MerkleStep> bad = path;
                    bad[s].side = st.side == Side::left ? Side::right : Side::left;
                    assert_false(merkle_verify(leaves[i], bad, root));
                    ++cases;
                }
                running = st.side == Side::left ? ref_parent(st.hash, running) : ref_parent(running, st.hash);
            }
            // Wrong root.
            Hash256 bad_root = root;
            bad_root[0] ^= 0x01;
            assert_false(merkle_verify(leaves[i], path, bad_root));
            // Dropped and extra steps.
            std::vector<MerkleStep> shorter(path.begin(), path.end() - 1);
            assert_false(merkle_verify(leaves[i], shorter, root));
            std::vector<MerkleStep> longer = path;
            longer.push_back({root, Side::left});
            assert_false(merkle_verify(leaves[i], longer, root));
            // Another leaf's path does not prove this leaf.
            const std::vector<MerkleStep> other = *merkle_path(leaves, (i + 1) % n);
            assert_false(merkle_verify(leaves[i], other, root));
            // Empty path for a multi-leaf tree.
            assert_false(merkle_verify(leaves[i], {}, root));
            cases += 6;
        }
    }
    print_message("merkle: %zu tampered proofs rejected\n", cases);
}

void test_errors(void **)
{
    const std::vector<Hash256> none;
    ASSERT_ERR(merkle_root(none), Errc::invalid_argument);
    ASSERT_ERR(merkle_path(none, 0), Errc::invalid_argument);

    const std::vector<Hash256> three = make_leaves(3);
    assert_true(merkle_path(three, 2).ok());
    ASSERT_ERR(merkle_path(three, 3), Errc::out_of_range);
    ASSERT_ERR(merkle_path(three, 4), Errc::out_of_range);
    ASSERT_ERR(merkle_path(three, SIZE_MAX), Errc::out_of_range);
    const std::vector<Hash256> one = make_leaves(1);
    ASSERT_ERR(merkle_path(one, 1), Errc::out_of_range);
}

// One pass gives, for every size, exactly the paths of one merkle_path call
// per leaf (same hashes, same sides, same length), and each leads to the root.
void test_all_paths_match(void **)
{
    for (size_t n = 1; n <= 70; ++n) {
        const std::vector<Hash256> leaves = make_leaves(n);
        auto all = merkle_all_paths(leaves);
        assert_true(all.ok());
        assert_int_equal(all->size(), n);
        auto root = merkle_root(leaves);
        assert_true(root.ok());
        for (size_t i = 0; i < n; ++i) {
            auto one = merkle_path(leaves, i);
            assert_true(one.ok());
            const std::vector<MerkleStep> &got = (*all)[i];
            assert_int_equal(got.size(), one->size());
            for (size_t k = 0; k < got.size(); ++k) {
                assert_memory_equal(got[k].hash.data(), (*one)[k].hash.data(), 32);
                assert_int_equal(static_cast<int>(got[k].side), static_cast<int>((*one)[k].side));
            }
            assert_true(merkle_verify(leaves[i], got, *root));
        }
    }
    const std::vector<Hash256> none;
    ASSERT_ERR(merkle_all_paths(none), Errc::invalid_argument);
}

void test_side_name(void **)
{
    assert_string_equal(std::string(side_name(Side::left)).c_str(), "left");
    assert_string_equal(std::string(side_name(Side::right)).c_str(), "right");
}

}  // namespace

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roots_and_paths),
        cmocka_unit_test(test_one_leaf),
        cmocka_unit_test(test_known_answer_three),
        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_all_paths_match),
        cmocka_unit_test(test_side_name),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

// SPDX-License-Identifier: MIT
// Batch-anchor Merkle tree (DESIGN.md §3 "Patches", proof and batch-anchor).
//
// Rules: leaves are the raw 32-byte record hashes; a parent is a single
// SHA-256 over left || right (64 raw bytes); a level with an odd count pairs
// its last node with itself; a one-leaf tree has root = leaf and an empty
// path. A MerkleStep's `side` is where the sibling sits relative to the
// running hash. All hashes are in natural byte order (no reversal).
//
// Known property of the pair-with-itself rule: [a, b, c] and [a, b, c, c]
// have the same root, so a root alone does not fix the leaf count. The batch
// anchor stores its leaves, so this only matters to someone checking a root
// without the batch.
//
// Ownership and sizes: inputs are borrowed for the call only; outputs are
// fresh values. A path has ceil(log2(n)) steps. Errors: an empty leaf set is
// invalid_argument; a leaf index >= leaves.size() is out_of_range.
// merkle_verify never fails with an error, it answers true or false.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "crypto/hash.h"

namespace pp::crypto {

enum class Side { left, right };

struct MerkleStep {
    Hash256 hash;
    Side side;  // where this sibling sits: left => parent = H(hash || running)
};

Result<Hash256> merkle_root(std::span<const Hash256> leaves);
Result<std::vector<MerkleStep>> merkle_path(std::span<const Hash256> leaves, size_t index);
// Every leaf's path (element i = merkle_path(leaves, i)) from one build of
// the tree: O(n) hashes plus O(n log n) copies, where n calls of merkle_path
// hash O(n^2). invalid_argument for an empty leaf set.
Result<std::vector<std::vector<MerkleStep>>> merkle_all_paths(std::span<const Hash256> leaves);
bool merkle_verify(const Hash256 &leaf, std::span<const MerkleStep> path, const Hash256 &root);

std::string_view side_name(Side s);  // "left" / "right"

}  // namespace pp::crypto

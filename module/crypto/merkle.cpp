// SPDX-License-Identifier: MIT
#include "crypto/merkle.h"

#include <algorithm>
#include <array>

namespace pp::crypto {
namespace {

Hash256 parent(const Hash256 &left, const Hash256 &right) noexcept
{
    std::array<uint8_t, 64> buf;
    std::copy(left.begin(), left.end(), buf.begin());
    std::copy(right.begin(), right.end(), buf.begin() + 32);
    return sha256(buf);
}

// Replaces `level` by the level above it.
void climb(std::vector<Hash256> &level)
{
    const size_t n = level.size();
    for (size_t i = 0; i < n; i += 2) {
        // The last node of an odd level is paired with itself.
        const Hash256 &right = i + 1 < n ? level[i + 1] : level[i];
        level[i / 2] = parent(level[i], right);
    }
    level.resize((n + 1) / 2);
}

}  // namespace

Result<Hash256> merkle_root(std::span<const Hash256> leaves)
{
    if (leaves.empty())
        return Errc::invalid_argument;
    std::vector<Hash256> level(leaves.begin(), leaves.end());
    while (level.size() > 1)
        climb(level);
    return level[0];
}

Result<std::vector<MerkleStep>> merkle_path(std::span<const Hash256> leaves, size_t index)
{
    if (leaves.empty())
        return Errc::invalid_argument;
    if (index >= leaves.size())
        return Errc::out_of_range;

    std::vector<MerkleStep> path;
    std::vector<Hash256> level(leaves.begin(), leaves.end());
    while (level.size() > 1) {
        // Even index: sibling to the right (itself when it is the odd last
        // node). Odd index: sibling to the left.
        if (index % 2 == 0) {
            const size_t sib = index + 1 < level.size() ? index + 1 : index;
            path.push_back({level[sib], Side::right});
        } else {
            path.push_back({level[index - 1], Side::left});
        }
        climb(level);
        index /= 2;
    }
    return path;
}

Result<std::vector<std::vector<MerkleStep>>> merkle_all_paths(std::span<const Hash256> leaves)
{
    if (leaves.empty())
        return Errc::invalid_argument;
    // Every level of the tree, leaves first, root last.
    std::vector<std::vector<Hash256>> levels;
    levels.emplace_back(leaves.begin(), leaves.end());
    while (levels.back().size() > 1) {
        std::vector<Hash256> up = levels.back();
        climb(up);
        levels.push_back(std::move(up));
    }
    std::vector<std::vector<MerkleStep>> paths(leaves.size());
    for (size_t leaf = 0; leaf < leaves.size(); ++leaf) {
        std::vector<MerkleStep> &path = paths[leaf];
        path.reserve(levels.size() - 1);
        size_t index = leaf;
        for (size_t l = 0; l + 1 < levels.size(); ++l) {
            const std::vector<Hash256> &level = levels[l];
            if (index % 2 == 0)  // the same sibling rule as merkle_path
                path.push_back({level[index + 1 < level.size() ? index + 1 : index], Side::right});
            else
                path.push_back({level[index - 1], Side::left});
            index /= 2;
        }
    }
    return paths;
}

bool merkle_verify(const Hash256 &leaf, std::span<const MerkleStep> path, const Hash256 &root)
{
    Hash256 h = leaf;
    for (const MerkleStep &step : path)
        h = step.side == Side::left ? parent(step.hash, h) : parent(h, step.hash);
    // Root and path are public data, so a plain compare is fine.
    return h == root;
}

std::string_view side_name(Side s)
{
    return s == Side::left ? "left" : "right";
}

}  // namespace pp::crypto

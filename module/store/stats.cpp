// SPDX-License-Identifier: MIT
#include "store/stats.h"

#include <array>
#include <string_view>

#include "store/row.h"

namespace pp::store {

namespace {

// The pool's states (sql/0002, quarantined from sql/0003), so a state with
// no rows still shows as 0 instead of vanishing from the graph.
constexpr std::array<std::string_view, 5> kUtxoStatuses = {"unconfirmed", "available", "locked", "spent",
                                                           "quarantined"};

Result<std::vector<LabelCount>> counts(Result<std::vector<Row>> rows)
{
    if (!rows)
        return rows.error();
    std::vector<LabelCount> out;
    out.reserve(rows->size());
    for (const Row &r : *rows) {
        auto n = col_int<int64_t>(r, 1);
        if (!r[0] || !n)
            return Errc::internal;
        out.push_back(LabelCount{*r[0], *n});
    }
    return out;
}

}  // namespace

Result<std::vector<LabelCount>> jobs_by_step(Db &db)
{
    return counts(db.query("SELECT step, COUNT(*) FROM jobs GROUP BY step"));
}

Result<std::vector<LabelCount>> utxos_by_status(Db &db)
{
    auto found = counts(db.query("SELECT status, COUNT(*) FROM utxos GROUP BY status"));
    if (!found)
        return found.error();
    std::vector<LabelCount> out;
    out.reserve(kUtxoStatuses.size() + found->size());
    for (std::string_view s : kUtxoStatuses)
        out.push_back(LabelCount{std::string(s), 0});
    for (LabelCount &f : *found) {
        bool known = false;
        for (LabelCount &o : out) {
            if (o.label == f.label) {
                o.count = f.count;
                known = true;
                break;
            }
        }
        if (!known)
            out.push_back(std::move(f));
    }
    return out;
}

}  // namespace pp::store

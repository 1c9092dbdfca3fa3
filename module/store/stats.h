// SPDX-License-Identifier: MIT
// Counts for the metrics page (GET /metrics gauges pp_jobs and
// pp_utxo_pool), read from MariaDB at scrape time.
//
// Ownership and failure model: functions run on the caller's Db (one per
// process, not thread-safe), one read each. MariaDB errors are returned as
// they are; the caller renders the families without samples then.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/db.h"

namespace pp::store {

struct LabelCount {
    std::string label;  // a step or status as stored
    int64_t count = 0;
};

// Jobs per step, the steps that have jobs, in text order.
Result<std::vector<LabelCount>> jobs_by_step(Db &db);
// UTXOs per status: every status of the pool (unconfirmed, available,
// locked, spent, quarantined) always, 0 when none has it, then any other
// status found in the table.
Result<std::vector<LabelCount>> utxos_by_status(Db &db);

}  // namespace pp::store

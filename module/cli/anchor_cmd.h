// SPDX-License-Identifier: MIT
#pragma once

namespace pp::cli {

// patchproof anchor [--limit N]: one batch-anchor run (admin/anchor.h, the
// code of POST /v1/admin/batch-anchor, same lease), with the DB_* and
// ADMIN_* settings of the environment. argv starts after "anchor". Prints
// {success, txid, jobId, processed, updated} as one JSON line. Exit 0 when
// signed (or nothing to anchor), 3 when not signed within ADMIN_WAIT_SEC
// (the job goes on), 4 when another run holds the lease or an anchor job is
// unfinished, 1 on failure (the job failed, MariaDB away), 2 on bad usage.
int cmd_anchor(int argc, char **argv);

}  // namespace pp::cli

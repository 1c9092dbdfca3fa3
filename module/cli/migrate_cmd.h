// SPDX-License-Identifier: MIT
#pragma once

namespace pp::cli {

// patchproof migrate [--sql-dir DIR]: applies sql/NNNN_*.sql with the DB_*
// settings of the environment. Returns the process exit code.
int cmd_migrate(int argc, char **argv);

}  // namespace pp::cli

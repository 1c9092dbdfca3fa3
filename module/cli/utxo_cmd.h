// SPDX-License-Identifier: MIT
#pragma once

namespace pp::cli {

// patchproof utxo add|reap|stats: the funding pool from the command line,
// with the DB_* (and CHAIN_*) settings of the environment. argv starts after
// "utxo". Prints one JSON line on success; errors name what is wrong, never
// a key or a value. Returns the process exit code (2 for usage errors).
int cmd_utxo(int argc, char **argv);

}  // namespace pp::cli

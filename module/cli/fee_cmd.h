// SPDX-License-Identifier: MIT
#pragma once

namespace pp::cli {

// patchproof fee set SATS_PER_KB | show | clear: FEE_PER_KB in the settings
// table, which patchproof-worker reads for every transaction it builds (it
// overrides the environment's FEE_PER_KB without a restart). argv starts
// after "fee". Prints one JSON line; 0 ok, 1 failure, 2 usage.
int cmd_fee(int argc, char **argv);

}  // namespace pp::cli

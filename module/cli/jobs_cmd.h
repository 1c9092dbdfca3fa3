// SPDX-License-Identifier: MIT
#pragma once

namespace pp::cli {

// patchproof jobs list [--state STEP] [--limit N] | retry ID | check [--since-min N]
// argv starts after "jobs". Exit codes: 0 ok, 1 failure or retry refused,
// 2 usage, and for check 2 when a job has failed (for monitoring).
int cmd_jobs(int argc, char **argv);

}  // namespace pp::cli

// SPDX-License-Identifier: MIT
// Pre-forking process model shared by patchproof-fcgi and patchproof-kms.
// The master opens (or inherits on fd 0) the listening socket, forks N
// workers that each run their own accept loop, restarts a worker that dies
// (with backoff), and on SIGTERM/SIGINT asks every worker to drain, then
// exits. Workers die with the master (PR_SET_PDEATHSIG), so killing the
// master never leaves children behind.
#pragma once

#include <functional>
#include <string_view>

#include "common/result.h"

namespace pp::server {

// "PATH" (unix socket, created with `socket_mode`) or "HOST:PORT"; an empty
// spec means inherit fd 0 from spawn-fcgi or a systemd socket unit.
Result<int> open_listener(std::string_view spec, unsigned socket_mode, std::string *error_detail);

struct PreforkOptions {
    int workers = 2;
    int drain_timeout_sec = 10;
};

// Runs the master loop; returns the process exit code. worker_main runs in
// each child and its return value is the child's exit code.
int run_master(int listen_fd, const PreforkOptions &opt, const std::function<int(int listen_fd)> &worker_main);

// Worker side of draining: SIGTERM ends an idle worker at once and a busy
// one right after its current request.
void worker_install_signals();
void worker_request_begins() noexcept;
void worker_request_ends() noexcept;
bool worker_should_exit() noexcept;

}  // namespace pp::server

// SPDX-License-Identifier: MIT
// The email outbox (DESIGN.md §3 "Email code login"): sent over SMTP by
// patchproof-worker. The sender lands with the email-login work; until then
// the worker loop's hook has nothing to send.
#include "worker/runner.h"

namespace pp::worker::detail {

void Worker::maybe_send_mail() {}

}  // namespace pp::worker::detail

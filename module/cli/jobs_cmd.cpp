// SPDX-License-Identifier: MIT
#include "cli/jobs_cmd.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/support.h"
#include "common/json.h"
#include "store/job_admin.h"

namespace pp::cli {
namespace {

int usage()
{
    std::fputs("usage: patchproof jobs list [--state queued|inputs_locked|signed|broadcast|done|failed] [--limit N]\n"
               "       patchproof jobs retry ID   a job waiting for its next attempt runs now; a failed\n"
               "                                  registration that never stored a transaction is queued\n"
               "                                  again with its pending record; a failed job with a stored\n"
               "                                  transaction (it may be on chain) is refused, as are failed\n"
               "                                  transfer/sweep/split/anchor jobs (run the action again)\n"
               "       patchproof jobs check [--since-min N]\n"
               "                                  counts per step; exit 2 when a job has failed (within the\n"
               "                                  last N minutes with --since-min)\n",
               stderr);
    return 2;
}

int fail(const char *what, Errc e) { return report_failure("jobs", what, e, true); }

json_t *job_json(const store::JobRow &j)
{
    json_t *o = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:I}", "id", json_int_t(j.id), "kind",
                          std::string(store::job_kind_text(j.kind)).c_str(), "step",
                          std::string(store::job_step_text(j.step)).c_str(), "attempts", json_int_t(j.attempts),
                          "nextAttemptMs", json_int_t(j.next_attempt_ms), "createdMs", json_int_t(j.created_ms),
                          "updatedMs", json_int_t(j.updated_ms));
    json_object_set_new(o, "pendingId", json_string_or_null(j.pending_id));
    json_object_set_new(o, "txid", json_string_or_null(j.txid));
    json_object_set_new(o, "lastError", json_string_or_null(j.last_error));
    return o;
}

// Reads "--name VALUE" / "--name=VALUE" at argv[i]; advances i.
bool option(int argc, char **argv, int &i, std::string_view name, std::string_view *value)
{
    const std::string_view a = argv[i];
    if (a == name && i + 1 < argc) {
        *value = argv[++i];
        return true;
    }
    if (a.size() > name.size() + 1 && a.substr(0, name.size()) == name && a[name.size()] == '=') {
        *value = a.substr(name.size() + 1);
        return true;
    }
    return false;
}

int cmd_list(int argc, char **argv)
{
    std::optional<store::JobStep> step;
    int64_t limit = 100;
    for (int i = 0; i < argc; ++i) {
        std::string_view v;
        if (option(argc, argv, i, "--state", &v)) {
            step = store::job_step_from_text(v);
            if (!step) {
                std::fputs("jobs list: --state must be queued, inputs_locked, signed, broadcast, done or failed\n",
                           stderr);
                return 2;
            }
        } else if (option(argc, argv, i, "--limit", &v)) {
            if (!parse_uint(v, &limit) || limit < 1 || limit > 10000) {
                std::fputs("jobs list: --limit must be 1..10000\n", stderr);
                return 2;
            }
        } else {
            return usage();
        }
    }
    auto env = open_admin_env("jobs");
    if (!env)
        return 1;
    auto rows = store::list_jobs(*env->db, step, limit);
    if (!rows)
        return fail("cannot list the jobs", rows.error());
    json_t *list = json_array();
    for (const store::JobRow &j : *rows)
        json_array_append_new(list, job_json(j));
    return print_json_line(json_pack("{s:o}", "jobs", list));
}

const char *refusal_text(store::RetryOutcome o)
{
    using R = store::RetryOutcome;
    switch (o) {
    case R::not_found: return "no such job";
    case R::busy: return "a worker is running this job right now; nothing changed";
    case R::already_ready: return "the job is ready already (a worker picks it up); nothing changed";
    case R::done: return "the job is done; nothing to retry";
    case R::has_tx: return "the job failed after storing a signed transaction, which may be on chain: it is not "
                           "re-queued (signing again could pay twice); check the txid on chain";
    case R::not_requeueable: return "only failed registration jobs are re-queued; submit the transfer or run the "
                                    "maintenance/anchor action again";
    case R::uid_taken: return "the uid of this registration is registered or pending again; nothing changed";
    default: return "refused";
    }
}

int cmd_retry(int argc, char **argv)
{
    uint64_t id = 0;
    if (argc != 1 || !parse_uint(std::string_view(argv[0]), &id) || id == 0)
        return usage();
    auto env = open_admin_env("jobs");
    if (!env)
        return 1;
    auto r = store::retry_job_now(*env->db, id, now_ms());
    if (!r)
        return fail("cannot retry the job", r.error());
    const bool ok = *r == store::RetryOutcome::made_ready || *r == store::RetryOutcome::requeued;
    json_t *out = json_pack("{s:b,s:I,s:s}", "success", ok, "jobId", json_int_t(id), "outcome",
                            std::string(store::retry_outcome_text(*r)).c_str());
    if (!ok) {
        json_object_set_new(out, "message", json_string(refusal_text(*r)));
        std::fprintf(stderr, "jobs retry: %s\n", refusal_text(*r));
    }
    const int rc = print_json_line(out);
    return ok ? rc : 1;
}

int cmd_check(int argc, char **argv)
{
    int64_t since_min = 0;
    for (int i = 0; i < argc; ++i) {
        std::string_view v;
        if (option(argc, argv, i, "--since-min", &v) && parse_uint(v, &since_min) && since_min > 0 &&
            since_min <= 525600)
            continue;
        return usage();
    }
    auto env = open_admin_env("jobs");
    if (!env)
        return 1;
    auto c = store::count_jobs(*env->db, since_min * 60);
    if (!c)
        return fail("cannot count the jobs", c.error());
    json_t *steps = json_object();
    for (size_t i = 0; i < 6; ++i)
        json_object_set_new(steps, std::string(store::job_step_text(static_cast<store::JobStep>(i))).c_str(),
                            json_integer(json_int_t(c->by_step[i])));
    json_t *out = json_pack("{s:b,s:o,s:I}", "ok", c->failed_recent == 0, "steps", steps, "failed",
                            json_int_t(c->failed_recent));
    if (since_min > 0)
        json_object_set_new(out, "sinceMinutes", json_integer(since_min));
    if (print_json_line(out) != 0)
        return 1;
    return c->failed_recent == 0 ? 0 : 2;
}

}  // namespace

int cmd_jobs(int argc, char **argv)
{
    return run_subcommand(argc, argv, {{"list", cmd_list}, {"retry", cmd_retry}, {"check", cmd_check}}, usage);
}

}  // namespace pp::cli

// SPDX-License-Identifier: MIT
#include "cli/fee_cmd.h"

#include <cstdio>
#include <string>
#include <string_view>

#include "cli/support.h"
#include "store/settings.h"

namespace pp::cli {
namespace {

int usage()
{
    std::fprintf(stderr,
                 "usage: patchproof fee set SATS_PER_KB   satoshis per 1000 bytes, 0..%llu, used by the worker\n"
                 "                                       from its next transaction on (no restart)\n"
                 "       patchproof fee show              the fee in force and where it comes from\n"
                 "       patchproof fee clear             back to the environment's FEE_PER_KB\n",
                 static_cast<unsigned long long>(store::kMaxFeePerKb));
    return 2;
}

int fail(const char *what, Errc e) { return report_failure("fee", what, e, true); }

// What the worker uses: the settings table, else the environment (also when
// the stored value is unusable, which show reports).
int show(AdminEnv &env)
{
    auto fee = store::fee_per_kb_setting(*env.db);
    if (!fee && fee.error() != Errc::invalid_argument)
        return fail("cannot read the settings table", fee.error());
    const bool stored = fee && *fee;
    const json_int_t value = stored ? json_int_t(**fee) : json_int_t(env.cfg.fee_per_kb);
    json_t *out = json_pack("{s:I,s:s,s:I}", "feePerKb", value, "source", stored ? "settings" : "environment",
                            "environmentFeePerKb", json_int_t(env.cfg.fee_per_kb));
    if (!fee)
        json_object_set_new(out, "warning", json_string("the stored FEE_PER_KB is not a usable number; ignored"));
    return print_json_line(out);
}

}  // namespace

int cmd_fee(int argc, char **argv)
{
    if (argc < 1)
        return usage();
    const std::string_view sub = argv[0];
    if (sub == "set") {
        if (argc != 2)
            return usage();
        const std::string_view v = argv[1];
        uint64_t fee = 0;
        if (!parse_uint(v, &fee) || fee > store::kMaxFeePerKb) {
            std::fprintf(stderr, "fee set: SATS_PER_KB must be an integer 0..%llu\n",
                         static_cast<unsigned long long>(store::kMaxFeePerKb));
            return 2;
        }
        auto env = open_admin_env("fee");
        if (!env)
            return 1;
        if (auto r = store::put_setting(*env->db, store::kSettingFeePerKb, std::to_string(fee)); !r)
            return fail("cannot write the settings table", r.error());
        return show(*env);
    }
    if ((sub == "show" || sub == "clear") && argc == 1) {
        auto env = open_admin_env("fee");
        if (!env)
            return 1;
        if (sub == "clear")
            if (auto r = store::delete_setting(*env->db, store::kSettingFeePerKb); !r)
                return fail("cannot write the settings table", r.error());
        return show(*env);
    }
    return usage();
}

}  // namespace pp::cli

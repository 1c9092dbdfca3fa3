// SPDX-License-Identifier: MIT
// The start-up self-test passes on this build and names no failed check.
#include "vectors.h"

#include "crypto/secp256k1.h"
#include "crypto/selftest.h"

using namespace pp;
using namespace pp::crypto;

static void self_test_passes(void **)
{
    assert_true(secp_init().ok());
    std::string_view failed = "not-run";
    auto r = self_test(&failed);
    if (!r)
        fail_msg("self-test failed at %.*s", static_cast<int>(failed.size()), failed.data());
    assert_true(failed.empty());
}

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(self_test_passes),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

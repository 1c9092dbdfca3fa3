// SPDX-License-Identifier: MIT
// email/limits.h, the pure parts: the admission rule a - s <= max (with s
// read before a's increment, never wrapping), Retry-After rounding, the
// cached number reader, and the key prefix (hashed, fixed length, distinct
// per bucket and id).
#include <string>

#include "email/limits.h"
#include "store/cache.h"

#include "vectors.h"  // last: cmocka's fail() macro must not meet <ios>

using namespace pp;
using namespace pp::email;

namespace {

void admits_while_failures_and_pending_fit(void **)
{
    // Five allowed: attempts 1..5 with nothing settled, then no more.
    for (uint64_t a = 1; a <= 5; ++a)
        assert_true(attempt_admitted(a, 0, 5));
    assert_false(attempt_admitted(6, 0, 5));
    // Settled attempts (successes, refusals) free their place.
    assert_true(attempt_admitted(9, 4, 5));
    assert_false(attempt_admitted(10, 4, 5));
    // A settled count read ahead of a stale attempt count never wraps around.
    assert_true(attempt_admitted(3, 7, 5));
    assert_true(attempt_admitted(1, 0, 1));
    assert_false(attempt_admitted(2, 0, 1));
    assert_false(attempt_admitted(1, 0, 0));
}

void retry_after_rounds_up_and_is_at_least_one(void **)
{
    assert_int_equal(seconds_until(10'000, 0), 10);
    assert_int_equal(seconds_until(10'001, 0), 11);
    assert_int_equal(seconds_until(10'000, 9'999), 1);
    assert_int_equal(seconds_until(10'000, 10'000), 1);  // memcached's clock lags by up to a second
    assert_int_equal(seconds_until(10'000, 20'000), 1);
}

void cached_numbers_are_digits_or_zero(void **)
{
    assert_int_equal(cached_number(std::string("1764620000123")), 1764620000123);
    assert_int_equal(cached_number(std::string("0")), 0);
    assert_int_equal(cached_number(std::nullopt), 0);
    assert_int_equal(cached_number(std::string("")), 0);
    assert_int_equal(cached_number(std::string("12x")), 0);
    assert_int_equal(cached_number(std::string("-5")), 0);
    assert_int_equal(cached_number(std::string(" 5")), 0);
}

void key_prefixes_hash_the_id(void **)
{
    const std::string a = limit_base("authfail", "alice@example.com\n127.0.0.1");
    const std::string b = limit_base("authfail", "alice@example.com\n127.0.0.2");
    const std::string c = limit_base("authfailall", "alice@example.com\n127.0.0.1");
    assert_string_equal(a.substr(0, 9).c_str(), "authfail:");
    assert_int_equal(a.size(), 9 + 32);
    assert_true(a != b);
    assert_true(a != c);
    assert_true(a == limit_base("authfail", "alice@example.com\n127.0.0.1"));
    // Client text never reaches the key as it is, and the longest key stays valid.
    const std::string spaced = limit_base("authreqaddr", "a b\r\n" + std::string(300, 'x'));
    assert_true(store::cache_key_valid(spaced + ":1764620000123:a"));
}

}  // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(admits_while_failures_and_pending_fit),
        cmocka_unit_test(retry_after_rounds_up_and_is_at_least_one),
        cmocka_unit_test(cached_numbers_are_digits_or_zero),
        cmocka_unit_test(key_prefixes_hash_the_id),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

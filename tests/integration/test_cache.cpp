// SPDX-License-Identifier: MIT
// store::Cache against a REAL private memcached (unix socket): add/get/set/
// incr/remove semantics, server lists, an outage and the same handle after
// a restart, and first increments of one key racing from many processes
// (each must count: memcached answers the loser of the server-side create
// NOT_STORED, which Cache::incr retries).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"
#include "vectors.h"  // cmocka includes

#include "store/cache.h"

using namespace pp;
using namespace pp::store;

namespace {

pp::test::Servers &g_env = pp::test::servers();

using pp::test::group_teardown;
using pp::test::start_memcached;
using pp::test::stop;

int group_setup(void **)
{
    if (!pp::test::setup_mariadb("/tmp/pp-cache-XXXXXX")) return -1;  // the temp dir and its cleanup
    if (!start_memcached()) {
        print_error("memcached did not start; see %s/mc.err\n", g_env.dir.c_str());
        return -1;
    }
    return 0;
}

Cache connect_cache()
{
    auto c = Cache::connect(g_env.mc_sock);
    if (!c) fail_msg("Cache::connect failed");
    return std::move(*c);
}

void cache_server_lists(void **)
{
    for (const char *bad : {"", "localhost", "localhost:", "localhost:0", "localhost:65536", "localhost:12a",
                            "a b:11211", "127.0.0.1:11211,", ",127.0.0.1:11211", "[::1]11211", "relative/path"}) {
        auto c = Cache::connect(bad);
        if (c.ok()) fail_msg("server list \"%s\" accepted", bad);
        assert_errc(c, Errc::invalid_argument);
    }
    for (const char *good : {"127.0.0.1:11211", "localhost:11211, 10.0.0.2:11212", "[::1]:11211",
                             "/run/memcached/memcached.sock"}) {
        auto c = Cache::connect(good);
        if (!c.ok()) fail_msg("server list \"%s\" rejected", good);
    }
    // Nothing listens on port 1: every call is unavailable, never "not found".
    auto down = Cache::connect("127.0.0.1:1");
    assert_true(down.ok());
    assert_false(down->ping());
    assert_errc(down->get("k"), Errc::unavailable);
    assert_errc(down->add("k", "v", 10), Errc::unavailable);
    assert_errc(down->remove("k"), Errc::unavailable);
    print_message("cache: server-list parsing; unreachable server -> unavailable, ping false\n");
}

void cache_basic(void **)
{
    Cache c = connect_cache();
    assert_true(c.ping());
    auto a1 = c.add("replay:abc", "1", 60);
    assert_true(a1.ok());
    assert_true(*a1);
    auto a2 = c.add("replay:abc", "2", 60);
    assert_true(a2.ok());
    assert_false(*a2);
    auto v = c.get("replay:abc");
    assert_true(v.ok());
    assert_string_equal((*v)->c_str(), "1");

    for (uint64_t want = 1; want <= 3; ++want) {
        auto n = c.incr("rl:user:1", 60);
        assert_true(n.ok());
        assert_int_equal(*n, want);
    }

    auto missing = c.get("no-such-key");
    assert_true(missing.ok());
    assert_false(missing->has_value());

    const std::string binary("\x00\x01\xff zero", 8);
    assert_true(c.set("bin", binary, 60).ok());
    auto got = c.get("bin");
    assert_true(got.ok() && got->has_value());
    assert_true(**got == binary);
    assert_true(c.set("empty", "", 60).ok());
    auto empty = c.get("empty");
    assert_true(empty.ok() && empty->has_value());
    assert_true((*empty)->empty());

    auto rm = c.remove("bin");
    assert_true(rm.ok());
    assert_true(*rm);
    auto rm2 = c.remove("bin");
    assert_true(rm2.ok());
    assert_false(*rm2);
    auto after = c.get("bin");
    assert_true(after.ok());
    assert_false(after->has_value());

    assert_errc(c.add("has space", "v", 10), Errc::invalid_argument);
    assert_errc(c.get("tab\tkey"), Errc::invalid_argument);
    assert_errc(c.set("nl\n", "v", 10), Errc::invalid_argument);
    assert_errc(c.incr("", 10), Errc::invalid_argument);
    assert_errc(c.remove(std::string(251, 'k')), Errc::invalid_argument);
    assert_true(c.set(std::string(250, 'k'), "v", 10).ok());
    assert_errc(c.set("ttl", "v", 31 * 24 * 3600), Errc::invalid_argument);
    print_message("cache: add true/false, incr 1,2,3, get missing -> nullopt, binary and empty values, "
                  "remove true/false, bad keys and ttl -> invalid_argument, 250-byte key ok\n");
}

void cache_outage(void **)
{
    Cache c = connect_cache();
    assert_true(c.set("before", "x", 60).ok());
    stop(&g_env.memcached, 10);

    assert_errc(c.add("replay:down", "1", 60), Errc::unavailable);
    assert_errc(c.get("before"), Errc::unavailable);
    assert_errc(c.incr("rl:down", 60), Errc::unavailable);
    assert_errc(c.set("k", "v", 60), Errc::unavailable);
    assert_errc(c.remove("before"), Errc::unavailable);
    assert_false(c.ping());

    assert_true(start_memcached());
    // The handle picks the server up again once its retry timeout passed.
    bool back = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!back && std::chrono::steady_clock::now() < deadline) {
        back = c.ping();
        if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    assert_true(back);
    auto a = c.add("replay:down", "1", 60);
    assert_true(a.ok());
    assert_true(*a);
    auto n = c.incr("rl:down", 60);
    assert_true(n.ok());
    assert_int_equal(*n, 1);
    auto lost = c.get("before");  // a restarted memcached is empty
    assert_true(lost.ok());
    assert_false(lost->has_value());
    print_message("cache: memcached stopped -> add/get/incr/set/remove unavailable, ping false; "
                  "restarted -> same handle works again\n");
}

// Many processes, each with its own handle, increment fresh keys at the same
// instant: every increment succeeds and each round counts 1..N exactly.
void racing_first_increments_all_count(void **)
{
    constexpr int kProcs = 8, kRounds = 40;
    int pipes[kProcs][2];
    std::vector<pid_t> kids;
    for (int p = 0; p < kProcs; ++p) {
        assert_int_equal(pipe(pipes[p]), 0);
        const pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            auto c = Cache::connect(g_env.mc_sock);
            if (!c) _exit(3);
            const auto start = std::chrono::system_clock::now() + std::chrono::milliseconds(300);
            std::this_thread::sleep_until(start);  // every process starts together
            for (int r = 0; r < kRounds; ++r) {
                auto n = c->incr("race:" + std::to_string(r), 60);
                uint64_t v = n ? *n : 0;  // 0: the increment failed
                if (write(pipes[p][1], &v, sizeof v) != sizeof v) _exit(4);
            }
            _exit(0);
        }
        close(pipes[p][1]);
        kids.push_back(pid);
    }
    std::vector<std::vector<uint64_t>> seen(kRounds);
    for (int p = 0; p < kProcs; ++p)
        for (int r = 0; r < kRounds; ++r) {
            uint64_t v = 0;
            assert_int_equal(read(pipes[p][0], &v, sizeof v), sizeof v);
            seen[r].push_back(v);
        }
    for (pid_t k : kids) {
        int st = 0;
        assert_int_equal(waitpid(k, &st, 0), k);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    for (int r = 0; r < kRounds; ++r) {
        std::sort(seen[r].begin(), seen[r].end());
        for (int i = 0; i < kProcs; ++i)
            if (seen[r][i] != uint64_t(i + 1))
                fail_msg("round %d: increment %d answered %llu", r, i, (unsigned long long)seen[r][i]);
    }
    print_message("cache: %d rounds of %d racing first increments, every one counted\n", kRounds, kProcs);
}

}  // namespace

int main()
{
    signal(SIGPIPE, SIG_IGN);
    const CMUnitTest tests[] = {
        cmocka_unit_test(cache_server_lists),
        cmocka_unit_test(cache_basic),
        cmocka_unit_test(racing_first_increments_all_count),
        cmocka_unit_test(cache_outage),
    };
    return cmocka_run_group_tests_name("cache", tests, group_setup, group_teardown);
}

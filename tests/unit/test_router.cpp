// SPDX-License-Identifier: MIT
// http::Router: captures, literal-over-capture precedence, 404/405 with
// Allow, and segments matched as sent (percent-encoding left to handlers).
#include <cstring>

#include "http/router.h"
#include "http/serve.h"

#include "vectors.h"  // last: cmocka's fail() macro must not meet <ios>

using namespace pp;
using namespace pp::http;

namespace {

struct Ctx {};
using R = Router<Ctx>;

Response h_a(Ctx &, const Request &, const PathParams &) { return text(200, "a"); }
Response h_b(Ctx &, const Request &, const PathParams &) { return text(200, "b"); }
Response h_c(Ctx &, const Request &, const PathParams &) { return text(200, "c"); }

std::string handled_by(const R &r, std::string_view method, std::string_view path)
{
    auto m = r.match(method, path);
    if (!m.route)
        return "-";
    Ctx ctx;
    return m.route->handler(ctx, Request{}, m.params).body;
}

std::string header_of(const Response &r, std::string_view name)
{
    for (const auto &[n, v] : r.headers)
        if (n == name)
            return v;
    return {};
}

}  // namespace

static void captures_one_nonempty_segment(void **)
{
    R r;
    r.add("GET", "/v1/patches/{uid}/content", h_a, Auth::api_key, 0, false);
    auto m = r.match("GET", "/v1/patches/abc-1/content");
    assert_non_null(m.route);
    assert_true(m.params.get("uid") == "abc-1");
    assert_true(m.params.get("nope").empty());
    assert_int_equal(static_cast<int>(m.route->auth), static_cast<int>(Auth::api_key));
    assert_null(r.match("GET", "/v1/patches//content").route);        // empty capture
    assert_null(r.match("GET", "/v1/patches/a/b/content").route);     // one segment only
    assert_null(r.match("GET", "/v1/patches/abc/content/").route);    // trailing slash is a segment
    assert_null(r.match("GET", "/v1/patches/abc").route);
}

static void literal_beats_capture_whatever_the_order(void **)
{
    // Registered capture-first and literal-first: the literal wins both ways.
    R r1;
    r1.add("GET", "/v1/patches/{uid}/history", h_a, Auth::none, 0, true);
    r1.add("GET", "/v1/patches/verify/{uid}", h_b, Auth::none, 0, true);
    assert_string_equal(handled_by(r1, "GET", "/v1/patches/verify/history").c_str(), "b");
    assert_string_equal(handled_by(r1, "GET", "/v1/patches/x1/history").c_str(), "a");
    R r2;
    r2.add("GET", "/v1/patches/verify/{uid}", h_b, Auth::none, 0, true);
    r2.add("GET", "/v1/patches/{uid}/history", h_a, Auth::none, 0, true);
    assert_string_equal(handled_by(r2, "GET", "/v1/patches/verify/history").c_str(), "b");
    // The earliest differing segment decides.
    R r3;
    r3.add("GET", "/a/{x}/c", h_a, Auth::none, 0, false);
    r3.add("GET", "/{y}/b/{z}", h_b, Auth::none, 0, false);
    r3.add("GET", "/a/b/c", h_c, Auth::none, 0, false);
    assert_string_equal(handled_by(r3, "GET", "/a/b/c").c_str(), "c");
    assert_string_equal(handled_by(r3, "GET", "/a/b/d").c_str(), "b");
    assert_string_equal(handled_by(r3, "GET", "/a/q/c").c_str(), "a");
    assert_string_equal(handled_by(r3, "GET", "/q/b/c").c_str(), "b");
}

static void unknown_path_is_404_known_path_other_method_405_with_allow(void **)
{
    R r;
    r.add("POST", "/api/svd/register", h_a, Auth::none, 8192, true);
    r.add("PUT", "/api/svd/register", h_b, Auth::jwt, 8192, true);
    r.add("GET", "/v1/x/{id}", h_a, Auth::none, 0, true);
    r.add("GET", "/v1/x/lit", h_b, Auth::none, 0, true);

    auto m404 = r.match("GET", "/nope");
    assert_false(m404.path_known);
    Response nf = no_route(m404);
    assert_int_equal(nf.status, 404);
    assert_non_null(strstr(nf.body.c_str(), "\"code\":\"NOT_FOUND\""));

    auto m405 = r.match("DELETE", "/api/svd/register");
    assert_null(m405.route);
    assert_true(m405.path_known);
    Response na = no_route(m405);
    assert_int_equal(na.status, 405);
    assert_string_equal(header_of(na, "Allow").c_str(), "POST, PUT");
    assert_non_null(strstr(na.body.c_str(), "\"status\":405"));

    // Two GET routes match: GET is listed once.
    auto m = r.match("POST", "/v1/x/lit");
    assert_string_equal(m.allow.c_str(), "GET");
    assert_string_equal(header_of(no_route(m), "Allow").c_str(), "GET");
    // Method names are case-sensitive, as HTTP says.
    assert_null(r.match("get", "/v1/x/1").route);
}

static void segments_are_matched_as_sent(void **)
{
    R r;
    r.add("GET", "/v1/patches/verify/{uid}", h_a, Auth::none, 0, true);
    r.add("GET", "/v1/patches/{uid}/history", h_b, Auth::none, 0, true);
    // An encoded '/' stays inside its segment; the capture keeps the
    // encoding so the handler decodes it exactly once.
    auto m = r.match("GET", "/v1/patches/verify/a%2Fb");
    assert_non_null(m.route);
    assert_true(m.params.get("uid") == "a%2Fb");
    assert_true(r.match("GET", "/v1/patches/verify/a%3Ab").params.get("uid") == "a%3Ab");
    // An encoded literal is not that literal: "%76erify" is a uid here.
    auto enc = r.match("GET", "/v1/patches/%76erify/history");
    assert_non_null(enc.route);
    assert_true(enc.params.get("uid") == "%76erify");
    assert_null(r.match("GET", "/v1/patches/%2F/verify/x").route);
}

static void route_index_and_limits_are_kept(void **)
{
    R r;
    r.add("GET", "/a", h_a, Auth::none, 0, false);
    r.add("POST", "/b", h_b, Auth::api_key_and_jwt, 1024, true);
    auto m = r.match("POST", "/b");
    assert_non_null(m.route);
    assert_int_equal(m.route->index, 1);
    assert_int_equal(m.route->body_limit, 1024);
    assert_true(m.route->ip_rate_limited);
    assert_string_equal(m.route->pattern.c_str(), "/b");
    assert_int_equal(r.routes().size(), 2);
}

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(captures_one_nonempty_segment),
        cmocka_unit_test(literal_beats_capture_whatever_the_order),
        cmocka_unit_test(unknown_path_is_404_known_path_other_method_405_with_allow),
        cmocka_unit_test(segments_are_matched_as_sent),
        cmocka_unit_test(route_index_and_limits_are_kept),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

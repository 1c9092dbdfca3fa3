// SPDX-License-Identifier: MIT
// Canonical JSON must be byte-identical to JavaScript's JSON.stringify; the
// expected strings below are what node prints for the same values.
#include <cstring>
#include <string>

#include "common/json.h"
#include "crypto/canonical_json.h"

// Last: cmocka defines macros (fail, expect_*) that clash with standard headers.
#include "vectors.h"

using pp::Errc;
using pp::JsonPtr;
using pp::crypto::canonical_json;
using pp::crypto::KeyOrder;

namespace {

JsonPtr parse(const char *text)
{
    json_error_t err;
    JsonPtr j(json_loads(text, JSON_DECODE_ANY, &err));
    if (!j) fail_msg("test JSON does not parse: %s", err.text);
    return j;
}

void check(const json_t *v, KeyOrder order, const char *want)
{
    auto r = canonical_json(v, order);
    if (!r) fail_msg("canonical_json failed: %s", std::string(pp::errc_name(r.error())).c_str());
    assert_string_equal(r->c_str(), want);
}

void check_text(const char *json_text, KeyOrder order, const char *want)
{
    JsonPtr j = parse(json_text);
    check(j.get(), order, want);
}

void check_string(const char *bytes, size_t len, const char *want)
{
    JsonPtr s(json_stringn(bytes, len));
    assert_non_null(s.get());
    check(s.get(), KeyOrder::sorted, want);
    std::string direct;
    pp::crypto::append_json_string(direct, std::string_view(bytes, len));
    assert_string_equal(direct.c_str(), want);
}

void nested_sorted_vs_insertion(void **)
{
    const char *in = R"({"z":{"y":1,"b":{"d":2,"c":3}},"a":[{"k":1,"j":2}],"m":"v"})";
    check_text(in, KeyOrder::sorted, R"({"a":[{"j":2,"k":1}],"m":"v","z":{"b":{"c":3,"d":2},"y":1}})");
    check_text(in, KeyOrder::insertion, R"({"z":{"y":1,"b":{"d":2,"c":3}},"a":[{"k":1,"j":2}],"m":"v"})");
}

void mixed_array(void **)
{
    const char *in = R"({"b":1,"a":[true,null,-5,"x/y"]})";
    check_text(in, KeyOrder::insertion, R"({"b":1,"a":[true,null,-5,"x/y"]})");
    check_text(in, KeyOrder::sorted, R"({"a":[true,null,-5,"x/y"],"b":1})");
    check_text(R"([false,0,9007199254740991,-9007199254740991])", KeyOrder::sorted,
                "[false,0,9007199254740991,-9007199254740991]");
}

void whitespace_dropped(void **)
{
    check_text("{ \"a\" : [ 1 , 2 ] ,\n\t\"b\" : { } }", KeyOrder::insertion, R"({"a":[1,2],"b":{}})");
}

void string_escapes(void **)
{
    // Raw UTF-8 is kept: é, 日本, 😀 (U+1F600), U+2028 (JSON.stringify leaves it alone).
    check_string("\xc3\xa9", 2, "\"\xc3\xa9\"");
    check_string("\xe6\x97\xa5\xe6\x9c\xac", 6, "\"\xe6\x97\xa5\xe6\x9c\xac\"");
    check_string("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"");
    check_string("\xe2\x80\xa8", 3, "\"\xe2\x80\xa8\"");
    check_string("\"", 1, R"("\"")");
    check_string("\\", 1, R"("\\")");
    check_string("\b\f\n\r\t", 5, R"("\b\f\n\r\t")");
    check_string("\x01", 1, R"("\u0001")");
    check_string("\x1f", 1, R"("\u001f")");  // lowercase hex
    check_string("\x0b", 1, R"("\u000b")");
    check_string("\x1b[0m", 4, R"("\u001b[0m")");
    check_string("\x7f", 1, "\"\x7f\"");  // DEL kept raw
    check_string("a/b</script>", 12, R"("a/b</script>")");
    check_string("", 0, R"("")");
    // NUL is a valid JSON string character; JSON.stringify gives \u0000.
    check_string("a\0b", 3, R"("a\u0000b")");
    // Escapes written in the input are decoded by jansson and re-escaped our way.
    check_text(R"(["\u00e9","\/","\u001F","\u007f","\ud83d\ude00"])", KeyOrder::sorted,
                "[\"\xc3\xa9\",\"/\",\"\\u001f\",\"\x7f\",\"\xf0\x9f\x98\x80\"]");
}

void keys_sorted_by_bytes(void **)
{
    // "B" (0x42) < "a" (0x61) < "é" (0xc3 0xa9); also a prefix sorts first.
    const char *in = "{\"\xc3\xa9\":1,\"a\":2,\"B\":3,\"ab\":4,\"\":5}";
    check_text(in, KeyOrder::sorted, "{\"\":5,\"B\":3,\"a\":2,\"ab\":4,\"\xc3\xa9\":1}");
    check_text(in, KeyOrder::insertion, "{\"\xc3\xa9\":1,\"a\":2,\"B\":3,\"ab\":4,\"\":5}");
    // Keys are escaped like values.
    check_text(R"({"a\nb":1,"q\"":2})", KeyOrder::sorted, R"({"a\nb":1,"q\"":2})");
}

void reals_rejected(void **)
{
    const char *bad[] = {"1.5", "[1,2.0]", R"({"a":{"b":[0.1]}})", "1e3"};
    for (const char *text : bad) {
        JsonPtr j = parse(text);
        auto r = canonical_json(j.get(), KeyOrder::sorted);
        assert_false(r.ok());
        assert_int_equal(static_cast<int>(r.error()), static_cast<int>(Errc::bad_json));
        r = canonical_json(j.get(), KeyOrder::insertion);
        assert_int_equal(static_cast<int>(r.error()), static_cast<int>(Errc::bad_json));
    }
}

void unsafe_integers_rejected(void **)
{
    // JS would print 9007199254740992 for ...993, so the hashes would differ.
    const char *bad[] = {"9007199254740992", "[-9007199254740992]", "9223372036854775807"};
    for (const char *text : bad) {
        JsonPtr j = parse(text);
        auto r = canonical_json(j.get(), KeyOrder::sorted);
        assert_int_equal(static_cast<int>(r.error()), static_cast<int>(Errc::bad_json));
    }
}

void invalid_utf8_rejected(void **)
{
    // Built with the nocheck setters, which skip jansson's UTF-8 check.
    JsonPtr s(json_stringn_nocheck("\xc3(", 2));
    auto r = canonical_json(s.get(), KeyOrder::sorted);
    assert_int_equal(static_cast<int>(r.error()), static_cast<int>(Errc::bad_json));

    JsonPtr surrogate(json_stringn_nocheck("\xed\xa0\x80", 3));
    r = canonical_json(surrogate.get(), KeyOrder::sorted);
    assert_int_equal(static_cast<int>(r.error()), static_cast<int>(Errc::bad_json));

    JsonPtr obj(json_object());
    assert_int_equal(json_object_set_new_nocheck(obj.get(), "\xc0\xaf", json_true()), 0);
    r = canonical_json(obj.get(), KeyOrder::insertion);
    assert_int_equal(static_cast<int>(r.error()), static_cast<int>(Errc::bad_json));
}

void empty_containers(void **)
{
    check_text("{}", KeyOrder::sorted, "{}");
    check_text("[]", KeyOrder::sorted, "[]");
    check_text(R"({"a":{},"b":[],"c":[{}]})", KeyOrder::sorted, R"({"a":{},"b":[],"c":[{}]})");
    check_text("null", KeyOrder::sorted, "null");
    check_text("true", KeyOrder::sorted, "true");
}

void null_pointer(void **)
{
    auto r = canonical_json(nullptr, KeyOrder::sorted);
    assert_int_equal(static_cast<int>(r.error()), static_cast<int>(Errc::invalid_argument));
}

void depth_limit(void **)
{
    // Deeper than the limit: built by hand, since jansson's parser stops at the same depth.
    JsonPtr root(json_array());
    json_t *cur = root.get();
    for (size_t i = 0; i < pp::crypto::kCanonicalMaxDepth + 1; ++i) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    auto r = canonical_json(root.get(), KeyOrder::sorted);
    assert_int_equal(static_cast<int>(r.error()), static_cast<int>(Errc::bad_json));

    JsonPtr ok(json_array());
    cur = ok.get();
    for (size_t i = 0; i < 100; ++i) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    auto r2 = canonical_json(ok.get(), KeyOrder::sorted);
    assert_true(r2.ok());
    assert_int_equal(r2->size(), 202);
}

}  // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nested_sorted_vs_insertion),
        cmocka_unit_test(mixed_array),
        cmocka_unit_test(whitespace_dropped),
        cmocka_unit_test(string_escapes),
        cmocka_unit_test(keys_sorted_by_bytes),
        cmocka_unit_test(reals_rejected),
        cmocka_unit_test(unsafe_integers_rejected),
        cmocka_unit_test(invalid_utf8_rejected),
        cmocka_unit_test(empty_containers),
        cmocka_unit_test(null_pointer),
        cmocka_unit_test(depth_limit),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

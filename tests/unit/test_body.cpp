// SPDX-License-Identifier: MIT
// module/http/body: Content-Type policy, strict JSON parsing and the
// Validator. The unknown-field cases are issue 7 defect 1: whether a body is
// valid must never depend on whether its error detail could be built.
#include <cstring>
#include <string>
#include <string_view>

#include "common/json.h"
#include "http/body.h"

// Last: cmocka defines macros (fail, expect_*) that clash with standard headers.
#include "vectors.h"

using pp::JsonPtr;
using pp::http::parse_json_body;
using pp::http::Request;
using pp::http::Validator;

namespace {

JsonPtr parse(std::string_view text)
{
    json_error_t err;
    JsonPtr j(json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, &err));
    assert_non_null(j.get());
    return j;
}

// The whole response body is valid JSON and names `code`.
void assert_error_body(const pp::http::Response &r, int status, const char *code)
{
    assert_int_equal(r.status, status);
    JsonPtr body = parse(r.body);
    assert_string_equal(json_string_value(json_object_get(body.get(), "code")), code);
}

Request json_request(std::string body, std::string content_type = "application/json")
{
    Request r;
    r.method = "POST";
    r.path = "/v1/x";
    r.content_type = std::move(content_type);
    r.body = std::move(body);
    return r;
}

bool valid_utf8(const std::string &s)
{
    // jansson validates UTF-8 when it parses a string.
    const std::string quoted = "[\"" + s + "\"]";
    json_error_t err;
    JsonPtr j(json_loads(quoted.c_str(), 0, &err));
    return j != nullptr;
}

// Runs only() with {"known"} over `obj_text` and returns the validator's verdict.
bool only_known_ok(std::string_view obj_text, JsonPtr *details_out = nullptr)
{
    JsonPtr obj = parse(obj_text);
    JsonPtr details(json_array());
    Validator v(obj.get(), details.get());
    v.only({"known"});
    const bool ok = v.ok();
    if (details_out)
        *details_out = std::move(details);
    return ok;
}

// ------------------------------------------------------------- content type

void content_types(void **)
{
    for (const char *good : {"application/json", "Application/JSON", "application/json; charset=utf-8",
                             "application/json;charset=UTF-8", "application/json ; charset=\"utf-8\"",
                             "application/json;"}) {
        assert_true(pp::http::is_json_content_type(good));
    }
    for (const char *bad : {"", "text/plain", "application/json-patch+json", "application/jsonx",
                            "application/json; charset=latin1", "application/json; boundary=x",
                            "application/json; charset", "multipart/form-data; application/json"}) {
        assert_false(pp::http::is_json_content_type(bad));
    }
}

void parse_body_statuses(void **)
{
    auto r = parse_json_body(json_request("{}", ""));
    assert_true(r.error.has_value());
    assert_error_body(*r.error, 415, "UNSUPPORTED_MEDIA_TYPE");

    r = parse_json_body(json_request("{}", "text/json"));
    assert_error_body(*r.error, 415, "UNSUPPORTED_MEDIA_TYPE");

    for (const char *bad : {"", "{", "{\"a\":1,\"a\":2}", "{\"a\\u0000b\":1}", "{\"a\":\"\xff\"}",
                            "{\"\xc3\":1}", "{} {}", "{\"a\":1}x"}) {
        r = parse_json_body(json_request(bad));
        assert_true(r.error.has_value());
        assert_error_body(*r.error, 400, "VALIDATION_ERROR");
    }
    for (const char *not_object : {"[]", "1", "\"x\"", "null"}) {
        r = parse_json_body(json_request(not_object));
        assert_error_body(*r.error, 400, "VALIDATION_ERROR");
    }
    r = parse_json_body(json_request("{\"a\":{\"b\":[1,2]}}", "application/json; charset=utf-8"));
    assert_false(r.error.has_value());
    assert_true(json_is_object(r.object.get()));
}

// ---------------------------------------------------------------- validator

void getters_record_problems(void **)
{
    JsonPtr obj = parse(R"({"s":"x","i":5,"b":true,"o":{},"wrong":1})");
    JsonPtr details(json_array());
    Validator v(obj.get(), details.get());
    assert_true(v.string("s", true).has_value());
    assert_int_equal(*v.integer("i", true), 5);
    assert_true(*v.boolean("b", true));
    assert_non_null(v.object("o", true));
    assert_false(v.string("absent", false).has_value());
    assert_true(v.ok());

    assert_false(v.string("wrong", true).has_value());
    assert_false(v.ok());
    assert_false(v.integer("missing", true).has_value());
    assert_int_equal(json_array_size(details.get()), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(details.get(), 0), "field")), "wrong");
    assert_string_equal(json_string_value(json_object_get(json_array_get(details.get(), 1), "issue")), "required");

    auto resp = pp::http::validation_error(details.release());
    assert_error_body(resp, 400, "VALIDATION_ERROR");
}

void unknown_fields_at_every_depth(void **)
{
    JsonPtr obj = parse(R"({"known":1,"outer":{"inner":{"deep":1,"extra":2}}})");
    JsonPtr details(json_array());
    Validator v(obj.get(), details.get());
    v.only({"known", "outer"});
    assert_true(v.ok());
    Validator ov(v.object("outer", true), details.get(), "outer");
    ov.only({"inner"});
    Validator iv(ov.object("inner", true), details.get(), "outer.inner");
    iv.only({"deep"});
    // A nested problem makes the top-level verdict false.
    assert_false(v.ok());
    assert_int_equal(json_array_size(details.get()), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(details.get(), 0), "field")),
                        "outer.inner.extra");
}

// The shape of the reported defect: 63 ASCII bytes then a two-byte
// character, cut at 64 bytes for the detail.
void unknown_name_split_at_the_cut(void **)
{
    const std::string name = std::string(63, 'a') + "\xc3\xa9";
    JsonPtr details;
    assert_false(only_known_ok("{\"" + name + "\":\"" + std::string(200000, 'x') + "\"}", &details));
    assert_int_equal(json_array_size(details.get()), 1);
    const char *field = json_string_value(json_object_get(json_array_get(details.get(), 0), "field"));
    assert_non_null(field);
    assert_string_equal(field, std::string(63, 'a').c_str());

    // Nested, as in POST /v1/patches' metadata.
    JsonPtr obj = parse("{\"metadata\":{\"" + name + "\":1}}");
    JsonPtr d2(json_array());
    Validator v(obj.get(), d2.get());
    v.only({"metadata"});
    Validator mv(v.object("metadata", true), d2.get(), "metadata");
    mv.only({"notes"});
    assert_false(v.ok());
    assert_false(mv.ok());
}

// Every cut position through 2-, 3- and 4-byte characters, and names made of
// control characters, quotes and escapes: always rejected, and the detail is
// valid UTF-8 of at most 64 bytes taken from the start of the name.
void unknown_names_with_odd_bytes(void **)
{
    const char *chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf"};
    for (const char *ch : chars) {
        for (size_t pad = 56; pad <= 66; ++pad) {
            const std::string name = std::string(pad, 'k') + ch + ch;
            JsonPtr details;
            assert_false(only_known_ok("{\"" + name + "\":null}", &details));
            const char *field = json_string_value(json_object_get(json_array_get(details.get(), 0), "field"));
            assert_non_null(field);
            const std::string f(field);
            assert_true(f.size() <= 64);
            assert_true(valid_utf8(f));
            assert_true(name.compare(0, f.size(), f) == 0);
        }
    }
    for (const char *odd : {"\\u0001\\u001f", "\\\"\\\\", "\\ud83d\\ude00", "\\u00e9\\u00e9", "known ", "Known",
                            "", "\\u007f", "k\\u2028"}) {
        JsonPtr details;
        assert_false(only_known_ok(std::string("{\"") + odd + "\":{}}", &details));
        char *text = json_dumps(details.get(), JSON_COMPACT);
        assert_non_null(text);
        free(text);
    }
    // Only the known name passes.
    assert_true(only_known_ok(R"({"known":[{"anything":1}]})"));
}

// Names and issues from code are not checked UTF-8 either: ill-formed bytes
// (a lone lead byte, a surrogate, an overlong form, a stray continuation)
// become U+FFFD, and the problem is recorded whatever they contain.
void problem_text_is_always_valid_utf8(void **)
{
    JsonPtr obj = parse("{}");
    JsonPtr details(json_array());
    Validator v(obj.get(), details.get(), "p\xc3");
    for (const char *name : {"\xed\xa0\x80", "\xc0\xaf", "\x80x", "\xf4\x90\x80\x80", "ok\xe2\x82"})
        v.problem(name, "bad\xff");
    assert_false(v.ok());
    assert_int_equal(json_array_size(details.get()), 5);
    for (size_t i = 0; i < 5; ++i) {
        const json_t *d = json_array_get(details.get(), i);
        assert_true(valid_utf8(json_string_value(json_object_get(d, "field"))));
        assert_string_equal(json_string_value(json_object_get(d, "issue")), "bad\xef\xbf\xbd");
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(details.get(), 1), "field")),
                        "p\xef\xbf\xbd.\xef\xbf\xbd\xef\xbf\xbd");
}

// A validator without a details array cannot report, so it never says ok.
void no_details_array_fails_closed(void **)
{
    JsonPtr obj = parse("{}");
    Validator v(obj.get(), nullptr);
    v.only({"known"});
    assert_false(v.ok());
}

}  // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(content_types),
        cmocka_unit_test(parse_body_statuses),
        cmocka_unit_test(getters_record_problems),
        cmocka_unit_test(unknown_fields_at_every_depth),
        cmocka_unit_test(unknown_name_split_at_the_cut),
        cmocka_unit_test(unknown_names_with_odd_bytes),
        cmocka_unit_test(problem_text_is_always_valid_utf8),
        cmocka_unit_test(no_details_array_fails_closed),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

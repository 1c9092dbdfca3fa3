// SPDX-License-Identifier: MIT
// FastCGI request heads (module/http/fcgi.cpp): the parameters libfcgi hands
// over (any bytes; NUL-separated "NAME=value" entries here) and the stdin
// stream, through read_request_head and read_body. PROPERTIES: the request
// id is always 1..64 safe characters; header names are lower-case with '-';
// a body is read only when CONTENT_LENGTH is a plain number within the limit,
// and then it is exactly that long.
#include <cctype>

#include "fuzz_common.h"
#include "http/fcgi.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace pp;
    std::string_view in(reinterpret_cast<const char *>(data), size);
    // Entries up to an empty one ("\0\0"), then the body.
    std::vector<std::string> params;
    std::string body;
    while (!in.empty()) {
        const size_t nul = in.find('\0');
        const std::string_view entry = in.substr(0, nul);
        if (entry.empty() || nul == std::string_view::npos) {
            body = std::string(nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1));
            if (!entry.empty())
                params.emplace_back(entry);
            break;
        }
        params.emplace_back(entry);
        in.remove_prefix(nul + 1);
    }
    fuzz::MemRequest mr(params, body);
    http::Request req = http::read_request_head(mr.fcgx());

    FUZZ_CHECK(!req.request_id.empty() && req.request_id.size() <= 64, "request id length");
    for (char c : req.request_id)
        FUZZ_CHECK(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_', "request id character");
    for (const auto &[name, value] : req.headers)
        for (char c : name)
            FUZZ_CHECK(c != '_' && !std::isupper(static_cast<unsigned char>(c)), "header name not normalised");
    FUZZ_CHECK(req.path.find('?') == std::string::npos, "query left in the path");
    FUZZ_CHECK(req.content_length >= -2, "content length");

    const size_t limit = 1024;
    const http::BodyStatus st = http::read_body(mr.fcgx(), req, limit);
    if (st == http::BodyStatus::ok)
        FUZZ_CHECK(req.content_length <= 0 ? req.body.empty()
                                           : req.body.size() == static_cast<size_t>(req.content_length),
                   "body length differs from CONTENT_LENGTH");
    else
        FUZZ_CHECK(req.body.empty(), "a refused body was kept");
    if (st == http::BodyStatus::too_large)
        FUZZ_CHECK(req.content_length > static_cast<long long>(limit), "too_large within the limit");
    if (req.content_length == -2)
        FUZZ_CHECK(st == http::BodyStatus::length_required, "malformed CONTENT_LENGTH accepted");
    // The answer path too.
    http::Response resp = http::error(400, http::code::validation, "x");
    http::write_response(mr.fcgx(), resp);
    FUZZ_CHECK(fuzz::parse_cgi_answer(mr.output()).status == 400, "written status");
    return 0;
}

// SPDX-License-Identifier: MIT
#include "http/fcgi.h"

#include <cctype>
#include <charconv>
#include <cstring>

#include <sodium.h>

#include "crypto/encoding.h"

namespace pp::http {
namespace {

std::string param(FCGX_Request &fcgx, const char *name)
{
    const char *v = FCGX_GetParam(name, fcgx.envp);
    return v ? std::string(v) : std::string();
}

// HTTP_X_API_KEY -> x-api-key
std::string header_name(std::string_view cgi)
{
    std::string out(cgi);
    for (char &c : out)
        c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool valid_request_id(std::string_view id)
{
    if (id.empty() || id.size() > 64)
        return false;
    for (char c : id)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
            return false;
    return true;
}

}  // namespace

Request read_request_head(FCGX_Request &fcgx)
{
    Request req;
    req.method = param(fcgx, "REQUEST_METHOD");
    std::string uri = param(fcgx, "REQUEST_URI");
    if (uri.empty())
        uri = param(fcgx, "DOCUMENT_URI");
    const size_t q = uri.find('?');
    req.path = uri.substr(0, q);
    req.query = param(fcgx, "QUERY_STRING");
    req.content_type = param(fcgx, "CONTENT_TYPE");
    const std::string length = param(fcgx, "CONTENT_LENGTH");
    if (!length.empty()) {
        long long n = -1;
        auto [ptr, ec] = std::from_chars(length.data(), length.data() + length.size(), n);
        req.content_length = (ec == std::errc() && ptr == length.data() + length.size() && n >= 0) ? n : -2;
    }
    req.remote_addr = param(fcgx, "REMOTE_ADDR");
    for (char **env = fcgx.envp; env && *env; ++env) {
        std::string_view kv(*env);
        if (kv.rfind("HTTP_", 0) != 0)
            continue;
        const size_t eq = kv.find('=');
        if (eq == std::string_view::npos)
            continue;
        req.headers.emplace_back(header_name(kv.substr(5, eq - 5)), std::string(kv.substr(eq + 1)));
    }
    std::string rid = param(fcgx, "REQUEST_ID");
    if (!valid_request_id(rid)) {
        uint8_t raw[16];
        randombytes_buf(raw, sizeof raw);
        rid = crypto::hex_encode(raw);
    }
    req.request_id = std::move(rid);
    return req;
}

BodyStatus read_body(FCGX_Request &fcgx, Request &req, size_t limit)
{
    if (req.content_length == -2)
        return BodyStatus::length_required;
    if (req.content_length <= 0)
        return BodyStatus::ok;
    if (static_cast<unsigned long long>(req.content_length) > limit)
        return BodyStatus::too_large;
    req.body.resize(static_cast<size_t>(req.content_length));
    size_t got = 0;
    while (got < req.body.size()) {
        const int want = static_cast<int>(std::min<size_t>(req.body.size() - got, 65536));
        const int n = FCGX_GetStr(req.body.data() + got, want, fcgx.in);
        if (n <= 0)
            break;
        got += static_cast<size_t>(n);
    }
    if (got != req.body.size()) {
        req.body.clear();
        return BodyStatus::short_read;
    }
    return BodyStatus::ok;
}

void write_response(FCGX_Request &fcgx, const Response &resp)
{
    std::string head;
    head.reserve(256);
    head += "Status: ";
    head += std::to_string(resp.status);
    head += ' ';
    head += reason_phrase(resp.status);
    head += "\r\nContent-Type: ";
    head += resp.content_type;
    head += "\r\nContent-Length: ";
    head += std::to_string(resp.body.size());
    head += "\r\n";
    for (const auto &[name, value] : resp.headers) {
        head += name;
        head += ": ";
        head += value;
        head += "\r\n";
    }
    head += "\r\n";
    FCGX_PutStr(head.data(), static_cast<int>(head.size()), fcgx.out);
    if (!resp.body.empty())
        FCGX_PutStr(resp.body.data(), static_cast<int>(resp.body.size()), fcgx.out);
}

}  // namespace pp::http

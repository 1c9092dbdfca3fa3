// SPDX-License-Identifier: MIT
#include "http/http.h"

#include "crypto/canonical_json.h"

namespace pp::http {

std::string_view Request::header(std::string_view lower_name) const noexcept
{
    for (const auto &[name, value] : headers)
        if (name == lower_name)
            return value;
    return {};
}

Response json(int status, json_t *body)
{
    JsonPtr owned(body);
    Response r;
    r.status = status;
    auto text = crypto::canonical_json(owned.get(), crypto::KeyOrder::insertion);
    if (!text) {
        r.status = 500;
        r.body = R"({"error":"INTERNAL","code":"INTERNAL","message":"Internal error.","status":500})";
        return r;
    }
    r.body = std::move(*text);
    return r;
}

Response error(int status, std::string_view code, std::string_view message, json_t *details)
{
    json_t *body = json_object();
    json_object_set_new(body, "error", json_stringn(code.data(), code.size()));
    json_object_set_new(body, "code", json_stringn(code.data(), code.size()));
    json_object_set_new(body, "message", json_stringn(message.data(), message.size()));
    json_object_set_new(body, "status", json_integer(status));
    if (details)
        json_object_set_new(body, "details", json_is_array(details) ? details : json_pack("[o]", details));
    return json(status, body);
}

Response text(int status, std::string body, std::string content_type)
{
    Response r;
    r.status = status;
    r.content_type = std::move(content_type);
    r.body = std::move(body);
    return r;
}

Response unavailable(std::string_view what)
{
    return error(503, code::unavailable, std::string(what) + " unavailable.");
}

std::string_view reason_phrase(int status) noexcept
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

}  // namespace pp::http

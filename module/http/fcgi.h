// SPDX-License-Identifier: MIT
// libfcgi glue: turn an accepted FCGX_Request into a Request and write a
// Response back. The body is read only up to the route's limit: a larger
// CONTENT_LENGTH is refused before any of it is buffered.
#pragma once

#include <cstddef>

#include <fcgiapp.h>

#include "http/http.h"

namespace pp::http {

// Method, path, query, headers, content type/length, remote address, request id.
Request read_request_head(FCGX_Request &fcgx);

enum class BodyStatus { ok, too_large, short_read, length_required };
// Reads exactly req.content_length bytes when it is within `limit`.
BodyStatus read_body(FCGX_Request &fcgx, Request &req, size_t limit);

void write_response(FCGX_Request &fcgx, const Response &resp);

}  // namespace pp::http

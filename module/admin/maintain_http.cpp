// SPDX-License-Identifier: MIT
#include "admin/maintain_http.h"

#include <string_view>

#include "common/json.h"
#include "log/log.h"

namespace pp::admin {
namespace {

http::Response internal(std::string_view what, Errc e)
{
    const std::string_view name = errc_name(e);
    JsonPtr f(json_pack("{s:s%}", "error", name.data(), name.size()));
    log::error(what, f.get());
    return http::error(500, http::code::internal, "Internal error.");
}

}  // namespace

http::Response maintain_error(Errc e)
{
    switch (e) {
    case Errc::conflict:
        return http::error(409, http::code::conflict,
                           "Another maintenance run holds the lease, or a sweep/split job is unfinished.");
    case Errc::invalid_argument:
        log::error("utxo-maintain: UTXO_FUNDING_* / UTXO_CHANGE_* address and key id do not match");
        return http::error(503, http::code::unavailable, "UTXO funding configuration unusable.");
    case Errc::unavailable:
    case Errc::timeout:
        return http::unavailable("Chain API");
    case Errc::deadlock:
        return http::unavailable("Database");
    default:
        return internal("utxo-maintain run failed", e);
    }
}

http::Response health_error(Errc e)
{
    switch (e) {
    case Errc::unavailable:
    case Errc::timeout:
    case Errc::deadlock:
        return http::unavailable("Database");
    default:
        return internal("utxo-health failed", e);
    }
}

}  // namespace pp::admin

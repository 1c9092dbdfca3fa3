// SPDX-License-Identifier: MIT
// Method + path routing. Patterns are literal segments and `{name}`
// captures ("/v1/patches/{uid}/content"); a capture matches one non-empty
// segment. Routes are registered once at start-up and then only read.
// Ctx is the per-process context the handlers receive (fcgi or kms).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/http.h"

namespace pp::http {

enum class Auth { none, api_key, jwt, api_key_and_jwt, kms_bearer };

class PathParams {
public:
    void add(std::string_view name, std::string_view value) { items_.emplace_back(name, value); }
    std::string_view get(std::string_view name) const noexcept
    {
        for (const auto &[n, v] : items_)
            if (n == name)
                return v;
        return {};
    }

private:
    std::vector<std::pair<std::string_view, std::string_view>> items_;
};

template <typename Ctx>
class Router {
public:
    using Handler = Response (*)(Ctx &, const Request &, const PathParams &);

    struct Route {
        std::string method;
        std::string pattern;   // also the metrics label
        std::vector<std::string> segments;
        Handler handler;
        Auth auth;
        size_t body_limit;      // bytes; 0 = no body accepted
        bool ip_rate_limited;   // per-client-IP public limit applies
        size_t index;           // dense id for metrics arrays
    };

    struct Match {
        const Route *route = nullptr;
        PathParams params;
        bool path_known = false;  // some route has this path (405 rather than 404)
        std::string allow;        // methods for that path
    };

    void add(std::string method, std::string pattern, Handler handler, Auth auth, size_t body_limit,
             bool ip_rate_limited)
    {
        Route r{std::move(method), pattern, split(pattern), handler, auth, body_limit, ip_rate_limited,
                routes_.size()};
        routes_.push_back(std::move(r));
    }

    // Of the routes matching `path` with this method, the most specific one:
    // at the first segment where two differ, a literal beats a capture
    // (DESIGN.md §3: /v1/patches/verify/{uid} over /v1/patches/{uid}/…).
    // Segments are matched as sent (still percent-encoded): decoding is the
    // handler's, exactly once, so an encoded '/' never splits a segment.
    Match match(std::string_view method, std::string_view path) const
    {
        Match m;
        const std::vector<std::string_view> parts = split_view(path);
        for (const Route &r : routes_) {
            PathParams params;
            if (!matches(r, parts, params))
                continue;
            m.path_known = true;
            if (!lists(m.allow, r.method)) {
                if (!m.allow.empty())
                    m.allow += ", ";
                m.allow += r.method;
            }
            if (r.method == method && (!m.route || more_specific(r, *m.route))) {
                m.route = &r;
                m.params = std::move(params);
            }
        }
        return m;
    }

    const std::vector<Route> &routes() const noexcept { return routes_; }

private:
    static std::vector<std::string> split(std::string_view path)
    {
        std::vector<std::string> out;
        for (auto v : split_view(path))
            out.emplace_back(v);
        return out;
    }

    static std::vector<std::string_view> split_view(std::string_view path)
    {
        std::vector<std::string_view> out;
        size_t i = 0;
        if (!path.empty() && path[0] == '/')
            i = 1;
        while (i <= path.size()) {
            size_t slash = path.find('/', i);
            if (slash == std::string_view::npos)
                slash = path.size();
            out.push_back(path.substr(i, slash - i));
            i = slash + 1;
        }
        return out;
    }

    static bool is_capture(const std::string &seg) noexcept
    {
        return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
    }

    static bool more_specific(const Route &a, const Route &b) noexcept
    {
        for (size_t i = 0; i < a.segments.size() && i < b.segments.size(); ++i) {
            const bool la = !is_capture(a.segments[i]), lb = !is_capture(b.segments[i]);
            if (la != lb)
                return la;
        }
        return false;  // equally specific: the first registered stays
    }

    static bool lists(std::string_view allow, std::string_view method) noexcept
    {
        size_t i = 0;
        while (i < allow.size()) {
            size_t comma = allow.find(", ", i);
            if (comma == std::string_view::npos)
                comma = allow.size();
            if (allow.substr(i, comma - i) == method)
                return true;
            i = comma + 2;
        }
        return false;
    }

    static bool matches(const Route &r, const std::vector<std::string_view> &parts, PathParams &params)
    {
        if (parts.size() != r.segments.size())
            return false;
        for (size_t i = 0; i < parts.size(); ++i) {
            const std::string &seg = r.segments[i];
            if (is_capture(seg)) {
                if (parts[i].empty())
                    return false;
                params.add(std::string_view(seg).substr(1, seg.size() - 2), parts[i]);
            } else if (seg != parts[i]) {
                return false;
            }
        }
        return true;
    }

    std::vector<Route> routes_;
};

}  // namespace pp::http

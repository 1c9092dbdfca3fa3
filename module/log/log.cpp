// SPDX-License-Identifier: MIT
#include "log/log.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <string>

#include "common/json.h"
#include "crypto/canonical_json.h"

namespace pp::log {
namespace {

// Per-process settings, fixed at start-up.
struct Settings {
    char component[16] = "patchproof";
    Level min_level = Level::info;
};

Settings &settings() noexcept
{
    static Settings s;
    return s;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

const char *level_name(Level l) noexcept
{
    switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    }
    return "info";
}

// Deep copy with sensitive values replaced.
json_t *redacted_copy(const json_t *v, int depth)
{
    if (depth > 16)
        return json_string("[too deep]");
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *key;
        json_t *child;
        json_object_foreach(const_cast<json_t *>(v), key, child) {
            if (is_sensitive_key(key))
                json_object_set_new(out, key, json_string("[redacted]"));
            else
                json_object_set_new(out, key, redacted_copy(child, depth + 1));
        }
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *child;
        json_array_foreach(const_cast<json_t *>(v), i, child) json_array_append_new(out, redacted_copy(child, depth + 1));
        return out;
    }
    if (json_is_real(v))  // canonical_json refuses reals; logs keep them as text
        return json_string(std::to_string(json_real_value(v)).c_str());
    return json_deep_copy(v);
}

}  // namespace

void set_component(std::string_view name) noexcept
{
    auto &s = settings();
    size_t n = std::min(name.size(), sizeof s.component - 1);
    std::copy_n(name.data(), n, s.component);
    s.component[n] = '\0';
}

void set_min_level(Level level) noexcept { settings().min_level = level; }

bool is_sensitive_key(std::string_view key) noexcept
{
    if (key == "M" || key == "m")
        return true;
    const std::string k = lower(key);
    static constexpr std::string_view exact[] = {"jti", "cnf", "authorization", "x-api-key", "pmchex", "pmc",
                                                 "code", "cookie"};
    for (auto e : exact)
        if (k == e)
            return true;
    static constexpr std::string_view parts[] = {"password", "token", "secret", "signature", "pmchex",
                                                 "api_key", "apikey", "private", "wif", "mhex"};
    for (auto p : parts)
        if (k.find(p) != std::string::npos)
            return true;
    return false;
}

void emit(Level level, std::string_view msg, const json_t *fields) noexcept
{
    const auto &s = settings();
    if (level < s.min_level)
        return;
    try {
        JsonPtr line(fields && json_is_object(fields) ? redacted_copy(fields, 0) : json_object());
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        char when[40];
        tm utc{};
        gmtime_r(&ts.tv_sec, &utc);
        size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &utc);
        snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);
        json_object_set_new(line.get(), "ts", json_string(when));
        json_object_set_new(line.get(), "level", json_string(level_name(level)));
        json_object_set_new(line.get(), "component", json_string(s.component));
        json_object_set_new(line.get(), "pid", json_integer(getpid()));
        json_object_set_new(line.get(), "msg", json_stringn(msg.data(), msg.size()));
        auto text = crypto::canonical_json(line.get(), crypto::KeyOrder::sorted);
        if (!text)
            return;
        text->push_back('\n');
        ssize_t ignored = ::write(STDERR_FILENO, text->data(), text->size());
        (void)ignored;
    } catch (...) {
        // Logging must never take a request down.
    }
}

}  // namespace pp::log

// SPDX-License-Identifier: MIT
// Structured logs: one JSON object per line on stderr, written with a single
// write(2) so lines from many workers never interleave. Any field whose name
// looks like a credential (password, token, secret, signature, pmcHex, M,
// jti, cnf, authorization, x-api-key …) is replaced by "[redacted]" at any
// depth before the line is built. Request bodies are never passed here.
#pragma once

#include <string_view>

#include <jansson.h>

namespace pp::log {

enum class Level { debug, info, warn, error };

// Names the process in every line ("fcgi", "kms", "cli").
void set_component(std::string_view name) noexcept;
void set_min_level(Level level) noexcept;

bool is_sensitive_key(std::string_view key) noexcept;

// `fields` is borrowed (may be null); it is not modified.
void emit(Level level, std::string_view msg, const json_t *fields = nullptr) noexcept;

inline void info(std::string_view msg, const json_t *fields = nullptr) noexcept { emit(Level::info, msg, fields); }
inline void warn(std::string_view msg, const json_t *fields = nullptr) noexcept { emit(Level::warn, msg, fields); }
inline void error(std::string_view msg, const json_t *fields = nullptr) noexcept { emit(Level::error, msg, fields); }

}  // namespace pp::log

// SPDX-License-Identifier: MIT
// Helpers shared by the unit tests: locate ../shared/testdata and load a
// vector file with jansson. A missing file fails the test; it never skips.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <string>
extern "C" {
#include <cmocka.h>
}
#include <jansson.h>

#include "common/result.h"

namespace pp::test {

// Full path of a file under the test-vector directory (PP_TESTDATA).
std::string vector_path(const char *relative);

// Parse a vector file; fails the running cmocka test if it cannot.
json_t *load_vectors(const char *relative);

// Hex string to bytes; fails the running test on bad hex.
Bytes unhex(const char *hex);

}  // namespace pp::test

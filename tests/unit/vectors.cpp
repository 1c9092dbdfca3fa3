// SPDX-License-Identifier: MIT
#include "vectors.h"

#include <cstdlib>

#include "crypto/encoding.h"

namespace pp::test {

std::string vector_path(const char *relative)
{
    const char *dir = std::getenv("PP_TESTDATA");
    std::string base = dir && *dir ? dir : "../shared/testdata";
    return base + "/" + relative;
}

json_t *load_vectors(const char *relative)
{
    std::string path = vector_path(relative);
    json_error_t err;
    json_t *root = json_load_file(path.c_str(), 0, &err);
    if (!root)
        fail_msg("cannot load %s: %s (line %d)", path.c_str(), err.text, err.line);
    return root;
}

Bytes unhex(const char *hex)
{
    auto r = crypto::hex_decode(hex);
    if (!r)
        fail_msg("bad hex in test data: %s", hex);
    return std::move(r).value();
}

}  // namespace pp::test

// Bringing a file into the page cache, so that a later measurement of
// loading it times the mapping and not the disk.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace lorashare {

// Reads `path` through to its end and returns the bytes read. kNotFound or
// kIo (naming the file) when it cannot be opened or read.
Result<uint64_t> ReadIntoPageCache(const std::string& path);

}  // namespace lorashare

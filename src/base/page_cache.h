// Bringing a file into the page cache, so that a later measurement of
// loading it times the mapping and not the disk.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace lorashare {

// Brings every page of `path` into the page cache and returns the file's
// size. The pages are faulted in through a MappedFile (MADV_HUGEPAGE), so a
// file that was not cached lands in 2 MiB folios, as it would for the runtime
// mapping it first; read(2) would cache it in small folios, which the
// runtime's mapping then cannot map by huge pages. Pages already cached stay
// as they are. kNotFound or kIo (naming the file) when it cannot be opened
// or read.
Result<uint64_t> ReadIntoPageCache(const std::string& path);

}  // namespace lorashare

// Bringing a file into the page cache, so that a later measurement of
// loading it times the mapping and not the disk, and putting it there in
// 2 MiB folios, so that the runtime's mapping of it uses huge pages.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace lorashare {

// A file in the page cache, as a fresh mapping of it (MappedFile) sees it.
struct CachedFile {
  uint64_t bytes = 0;                   // the file's size
  uint64_t huge_page_mapped_bytes = 0;  // of those, mapped by 2 MiB entries
};

// Brings every page of `path` into the page cache. The pages are faulted in
// through a MappedFile (MADV_HUGEPAGE), so a file that was not cached lands
// in 2 MiB folios, as it would for the runtime mapping it first; read(2)
// would cache it in small folios, which the runtime's mapping then cannot map
// by huge pages. Pages already cached stay as they are. kNotFound or kIo
// (naming the file) when it cannot be opened or read.
Result<CachedFile> ReadIntoPageCache(const std::string& path);

// Caches `path` again in 2 MiB folios: writes back its dirty pages, drops its
// cached pages that no process maps, and reads it in as ReadIntoPageCache
// does. A file cached in 4 KiB pages (copied by cp, or written or read in
// small pieces) is otherwise mapped by 4 KiB entries for as long as it stays
// cached, and decode then misses the TLB every 4 KiB of weights. Costs one
// read of the file from disk; pages another process maps stay as they are.
Result<CachedFile> RecacheInLargeFolios(const std::string& path);

}  // namespace lorashare

#include "base/prefault.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

// Linux 5.14; older kernels answer EINVAL.
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace lorashare {

namespace {

uintptr_t PageSize() { return static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE)); }

}  // namespace

void PrefaultForWrite(void* data, size_t bytes) {
  const uintptr_t page = PageSize();
  const uintptr_t start = reinterpret_cast<uintptr_t>(data);
  const uintptr_t begin = (start + page - 1) / page * page;
  const uintptr_t end = (start + bytes) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
}

void PrefaultForRead(const void* data, size_t bytes) {
  if (bytes == 0) return;
  // Reading never changes a page, so the pages at the ends are populated too.
  const uintptr_t page = PageSize();
  const uintptr_t start = reinterpret_cast<uintptr_t>(data);
  const uintptr_t begin = start / page * page;
  const uintptr_t end = (start + bytes + page - 1) / page * page;
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_READ);
}

}  // namespace lorashare

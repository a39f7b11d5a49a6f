#include "base/page_cache.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/mapped_file.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14; older kernels answer EINVAL
#endif

namespace lorashare {
namespace {

// Reads one byte of every page: the fallback where MADV_POPULATE_READ is
// unknown.
void TouchEveryPage(std::span<const uint8_t> bytes) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  uint8_t sum = 0;
  for (size_t offset = 0; offset < bytes.size(); offset += page) {
    sum ^= *static_cast<const volatile uint8_t*>(&bytes[offset]);
  }
  static_cast<void>(sum);
}

}  // namespace

Result<uint64_t> ReadIntoPageCache(const std::string& path) {
  LS_ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(path));
  const std::span<const uint8_t> bytes = file->bytes();
  if (bytes.empty()) return uint64_t{0};
  void* start = const_cast<uint8_t*>(bytes.data());
  if (::madvise(start, bytes.size(), MADV_POPULATE_READ) != 0) {
    if (errno != EINVAL) {
      return MakeError(ErrorCode::kIo, "{}: cannot read it into the page cache: {}", path,
                       std::strerror(errno));
    }
    TouchEveryPage(bytes);
  }
  return uint64_t{bytes.size()};
}

}  // namespace lorashare

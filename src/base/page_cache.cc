#include "base/page_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/mapped_file.h"
#include "base/memory_stats.h"

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

Result<CachedFile> ReadIntoPageCache(const std::string& path) {
  LS_ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(path));
  const std::span<const uint8_t> bytes = file->bytes();
  if (bytes.empty()) return CachedFile{};
  void* start = const_cast<uint8_t*>(bytes.data());
  if (::madvise(start, bytes.size(), MADV_POPULATE_READ) != 0) {
    if (errno != EINVAL) {
      return MakeError(ErrorCode::kIo, "{}: cannot read it into the page cache: {}", path,
                       std::strerror(errno));
    }
    TouchEveryPage(bytes);
  }
  LS_ASSIGN_OR_RETURN(MappingPages pages, ReadMappingPages(bytes.data()));
  return CachedFile{.bytes = bytes.size(), .huge_page_mapped_bytes = pages.huge_page_mapped_bytes};
}

Result<CachedFile> RecacheInLargeFolios(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return MakeError(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, "{}: cannot open: {}",
                     path, std::strerror(errno));
  }
  // Dirty pages (a copy just written) would stay cached through the advice.
  int err = ::fdatasync(fd) == 0 ? 0 : errno;
  if (err == 0) err = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  if (err != 0) {
    return MakeError(ErrorCode::kIo, "{}: cannot drop it from the page cache: {}", path,
                     std::strerror(err));
  }
  return ReadIntoPageCache(path);
}

}  // namespace lorashare

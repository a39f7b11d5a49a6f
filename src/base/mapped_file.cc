#include "base/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lorashare {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// Maps `size` bytes of `fd` read-only at an address aligned like the file
// offset modulo 2 MiB, and asks for huge pages there. Where the page cache
// holds the file in 2 MiB folios (a filesystem with large folios, filled by
// large aligned writes or by faults in such a mapping), each folio is then
// mapped by one page-table entry: a decode that streams every weight per token
// runs at the memory's bandwidth instead of missing the TLB every 4 KiB.
void* MapAligned(int fd, size_t size) {
  if (size < kHugePage) return ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  void* reserved = ::mmap(nullptr, size + kHugePage, PROT_NONE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED) return MAP_FAILED;
  const uintptr_t start = reinterpret_cast<uintptr_t>(reserved);
  const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  void* p =
      ::mmap(reinterpret_cast<void*>(aligned), size, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
  if (p == MAP_FAILED) {
    ::munmap(reserved, size + kHugePage);
    return MAP_FAILED;
  }
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t mapped_end = aligned + (size + page - 1) / page * page;
  if (aligned > start) ::munmap(reserved, aligned - start);
  if (start + size + kHugePage > mapped_end) {
    ::munmap(reinterpret_cast<void*>(mapped_end), start + size + kHugePage - mapped_end);
  }
  ::madvise(p, size, MADV_HUGEPAGE);  // advisory: kernels without THP refuse it
  return p;
}

}  // namespace

Result<std::shared_ptr<const MappedFile>> MappedFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return MakeError(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, "{}: cannot open: {}",
                     path, std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return MakeError(ErrorCode::kIo, "{}: cannot stat: {}", path, std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return MakeError(ErrorCode::kInvalidArgument, "{}: not a regular file", path);
  }
  FileIdentity identity{st.st_dev, st.st_ino, static_cast<uint64_t>(st.st_size),
                        static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  const uint8_t* data = nullptr;
  size_t size = static_cast<size_t>(st.st_size);
  if (size > 0) {
    void* p = MapAligned(fd, size);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return MakeError(ErrorCode::kIo, "{}: cannot map: {}", path, std::strerror(err));
    }
    data = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // the mapping keeps the file open
  return std::shared_ptr<const MappedFile>(new MappedFile(path, data, size, identity));
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void MappedFile::ReleasePages(size_t offset, size_t size) const {
  if (offset >= size_) return;
  size = std::min(size, size_ - offset);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  // Only whole pages inside the range may be dropped.
  size_t begin = (offset + page - 1) / page * page;
  size_t end = (offset + size) / page * page;
  if (end > begin) ::madvise(const_cast<uint8_t*>(data_) + begin, end - begin, MADV_DONTNEED);
}

}  // namespace lorashare

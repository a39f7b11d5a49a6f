#include "export/scratch_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace lorashare {

Result<std::unique_ptr<ScratchFile>> ScratchFile::Create(const std::string& directory) {
  // O_TMPFILE: an unnamed file on the directory's file system; where the
  // file system lacks it, a named temporary removed at once.
  int fd = ::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EOPNOTSUPP) {
    std::string name = directory + "/.lorashare-scratch-XXXXXX";
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(name.c_str());
  }
  if (fd < 0) {
    return MakeError(ErrorCode::kIo, "{}: cannot create a scratch file: {}", directory,
                     std::strerror(errno));
  }
  return std::unique_ptr<ScratchFile>(new ScratchFile(directory, fd));
}

ScratchFile::~ScratchFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  ::close(fd_);
}

Result<uint64_t> ScratchFile::Append(std::span<const uint8_t> bytes) {
  if (data_ != nullptr) {
    return MakeError(ErrorCode::kInternal, "scratch file in {}: append after Map()", directory_);
  }
  const uint64_t offset = size_;
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n =
        ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return MakeError(ErrorCode::kIo, "scratch file in {}: write failed: {}", directory_,
                       n < 0 ? std::strerror(errno) : "no progress");
    }
    done += static_cast<size_t>(n);
  }
  size_ += bytes.size();
  return offset;
}

Status ScratchFile::Map() {
  if (data_ != nullptr || size_ == 0) return OkStatus();
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) {
    return MakeError(ErrorCode::kIo, "scratch file in {}: cannot map {} bytes: {}", directory_,
                     size_, std::strerror(errno));
  }
  data_ = static_cast<const uint8_t*>(p);
  return OkStatus();
}

}  // namespace lorashare

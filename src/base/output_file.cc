#include "base/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace lorashare {
namespace {

// Every write is one whole buffer at a multiple of its size in the file: the
// page cache then holds the file in 2 MiB folios where the filesystem supports
// large folios, and a reader that maps it gets huge-page mappings at once.
constexpr size_t kBufferSize = 8 << 20;

Status WriteAll(int fd, const uint8_t* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return MakeError(ErrorCode::kIo, "{}: write failed: {}", path, std::strerror(errno));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<OutputFile>> OutputFile::Create(const std::string& path) {
  std::string temp = path + ".tmp.XXXXXX";
  std::vector<char> name(temp.begin(), temp.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) {
    return MakeError(ErrorCode::kIo, "{}: cannot create: {}", path, std::strerror(errno));
  }
  ::fchmod(fd, 0644);
  auto file = std::unique_ptr<OutputFile>(new OutputFile(path, name.data(), fd));
  file->buffer_.reserve(kBufferSize);
  return file;
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_path_.c_str());
  }
}

Status OutputFile::FlushBuffer() {
  Status status =
      WriteAll(fd_, reinterpret_cast<const uint8_t*>(buffer_.data()), buffer_.size(), path_);
  buffer_.clear();
  return status;
}

Status OutputFile::Write(std::span<const uint8_t> bytes) {
  position_ += bytes.size();
  while (!bytes.empty()) {
    const size_t n = std::min(bytes.size(), kBufferSize - buffer_.size());
    buffer_.append(reinterpret_cast<const char*>(bytes.data()), n);
    bytes = bytes.subspan(n);
    if (buffer_.size() == kBufferSize) LS_RETURN_IF_ERROR(FlushBuffer());
  }
  return OkStatus();
}

Status OutputFile::WriteZeros(uint64_t count) {
  static const std::vector<uint8_t> zeros(4096, 0);
  while (count > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(count, zeros.size()));
    LS_RETURN_IF_ERROR(Write({zeros.data(), n}));
    count -= n;
  }
  return OkStatus();
}

Status OutputFile::Commit() {
  LS_RETURN_IF_ERROR(FlushBuffer());
  if (::fsync(fd_) != 0 && errno != EINVAL) {
    return MakeError(ErrorCode::kIo, "{}: fsync failed: {}", path_, std::strerror(errno));
  }
  if (::close(fd_) != 0) {
    fd_ = -1;
    ::unlink(temp_path_.c_str());
    return MakeError(ErrorCode::kIo, "{}: close failed: {}", path_, std::strerror(errno));
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(temp_path_.c_str());
    return MakeError(ErrorCode::kIo, "{}: rename failed: {}", path_, std::strerror(err));
  }
  return OkStatus();
}

Status WriteWholeFile(const std::string& path, std::string_view bytes) {
  LS_ASSIGN_OR_RETURN(auto file, OutputFile::Create(path));
  LS_RETURN_IF_ERROR(file->Write(bytes));
  return file->Commit();
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return MakeError(ErrorCode::kInvalidArgument, "{}: is a directory, expected a file", path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(ErrorCode::kNotFound, "{}: cannot open: {}", path, std::strerror(errno));
  }
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return MakeError(ErrorCode::kIo, "{}: read failed", path);
  return out.str();
}

}  // namespace lorashare

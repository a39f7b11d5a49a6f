// MappedFile: a whole file mapped read-only and shared.
//
// Every reader in lorashare works on a MappedFile so that tensor data is used
// in place (zero copies) and the page cache shares it between processes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/result.h"

namespace lorashare {

// Identifies the file behind a mapping, so caches can tell two paths to the
// same file apart from two different files.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};

class MappedFile {
 public:
  static Result<std::shared_ptr<const MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }
  const FileIdentity& identity() const { return identity_; }

  // Tells the kernel the pages covering [offset, offset + size) are not needed
  // now (they stay valid and are re-read on access). Used after a tensor has
  // been converted into memory so its source does not stay resident twice.
  void ReleasePages(size_t offset, size_t size) const;

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size, FileIdentity identity)
      : path_(std::move(path)), data_(data), size_(size), identity_(identity) {}

  std::string path_;
  const uint8_t* data_;
  size_t size_;
  FileIdentity identity_;
};

}  // namespace lorashare

// OutputFile: writes a file so that readers never see it half-written.
//
// Bytes go to a temporary file beside the destination; Commit() flushes it and
// renames it over the destination. A writer destroyed without Commit() (an
// error path) removes the temporary, so a failed command leaves nothing behind.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"

namespace lorashare {

class OutputFile {
 public:
  static Result<std::unique_ptr<OutputFile>> Create(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  Status Write(std::span<const uint8_t> bytes);
  Status Write(std::string_view text) {
    return Write({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }
  Status WriteZeros(uint64_t count);
  uint64_t position() const { return position_; }
  Status Commit();

 private:
  OutputFile(std::string path, std::string temp_path, int fd)
      : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd) {}
  Status FlushBuffer();

  std::string path_;
  std::string temp_path_;
  int fd_;
  uint64_t position_ = 0;
  std::string buffer_;
};

// Writes `bytes` to `path` through an OutputFile.
Status WriteWholeFile(const std::string& path, std::string_view bytes);

// Reads a whole (small) file into a string.
Result<std::string> ReadWholeFile(const std::string& path);

}  // namespace lorashare

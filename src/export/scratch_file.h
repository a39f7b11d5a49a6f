// ScratchFile: bytes an export produces (converted or quantized tensors),
// parked in an unlinked temporary file instead of the heap, then mapped back
// read-only for the .ptd writer.
//
// The foundation's keys come from its content and the .ptd head lists them
// before any data, so every tensor must exist before the file can be written.
// Keeping the produced tensors on disk bounds the export's memory by one
// tensor: a 1B f32 checkpoint (mapped, 5 GB) becomes an 8da4w foundation
// without a second copy of anything in anonymous memory; the page cache holds
// the scratch pages and may drop them. The file is unlinked at creation, so
// nothing is left behind whatever happens to the process.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/result.h"

namespace lorashare {

class ScratchFile {
 public:
  // Creates the file in `directory` (the output's, so it sits on the same
  // disk the output is written to).
  static Result<std::unique_ptr<ScratchFile>> Create(const std::string& directory);
  ~ScratchFile();
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  // Appends `bytes` and returns their offset in the file. Only before Map().
  Result<uint64_t> Append(std::span<const uint8_t> bytes);
  // Ends writing and maps everything appended; the views stay valid for the
  // ScratchFile's lifetime.
  Status Map();
  std::span<const uint8_t> View(uint64_t offset, uint64_t size) const {
    return {data_ + offset, size};
  }

 private:
  ScratchFile(std::string directory, int fd) : directory_(std::move(directory)), fd_(fd) {}

  std::string directory_;
  int fd_;
  uint64_t size_ = 0;
  const uint8_t* data_ = nullptr;
};

}  // namespace lorashare

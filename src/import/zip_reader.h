// ZipReader: the central directory of a zip archive (with ZIP64), read with
// bounds checks so that entries stored uncompressed can be used in place.
//
// torch.save writes its checkpoints as zips of STORED entries; knowing each
// entry's raw data offset lets tensors be zero-copy views into the mapping.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"

namespace lorashare {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflated
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;
  uint64_t data_offset = 0;  // of the (compressed) data in the archive
};

class ZipReader {
 public:
  // `source` names the archive in errors.
  static Result<ZipReader> Parse(std::span<const uint8_t> bytes, std::string source);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* Find(std::string_view name) const;
  // The bytes of a stored entry; compressed entries are refused.
  Result<std::span<const uint8_t>> Data(const ZipEntry& entry) const;
  // Data(), after checking the entry's CRC-32.
  Result<std::span<const uint8_t>> CheckedData(const ZipEntry& entry) const;

 private:
  std::span<const uint8_t> bytes_;
  std::string source_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

// CRC-32 (IEEE, as zip uses), continuing from `crc` (0 to start).
uint32_t Crc32(std::span<const uint8_t> bytes, uint32_t crc = 0);

}  // namespace lorashare

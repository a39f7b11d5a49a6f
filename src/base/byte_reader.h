// ByteReader: bounds-checked little-endian reads from untrusted bytes.
//
// Parsers read headers through it so that a truncated or corrupt file yields an
// error naming the field instead of an out-of-bounds read.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"

namespace lorashare {

class ByteReader {
 public:
  // `source` names the file in error messages.
  ByteReader(std::span<const uint8_t> bytes, std::string source)
      : bytes_(bytes), source_(std::move(source)) {}

  size_t position() const { return position_; }
  size_t remaining() const { return bytes_.size() - position_; }
  const std::string& source() const { return source_; }

  Status Seek(size_t position, std::string_view what);

  template <typename T>
  Result<T> Read(std::string_view what) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (remaining() < sizeof(T)) return Truncated(what, sizeof(T));
    T value;
    std::memcpy(&value, bytes_.data() + position_, sizeof(T));  // little-endian host
    position_ += sizeof(T);
    return value;
  }

  Result<std::span<const uint8_t>> ReadBytes(size_t count, std::string_view what);
  Result<std::string_view> ReadString(size_t count, std::string_view what);

 private:
  Error Truncated(std::string_view what, size_t wanted) const;

  std::span<const uint8_t> bytes_;
  std::string source_;
  size_t position_ = 0;
};

// True when [offset, offset + size) lies inside a buffer of `total` bytes,
// without overflow.
inline bool RangeInside(uint64_t offset, uint64_t size, uint64_t total) {
  return offset <= total && size <= total - offset;
}

}  // namespace lorashare

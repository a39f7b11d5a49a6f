#include "base/byte_reader.h"

namespace lorashare {

Status ByteReader::Seek(size_t position, std::string_view what) {
  if (position > bytes_.size()) {
    return MakeError(ErrorCode::kCorrupt, "{}: {} at offset {} is past the end ({} bytes)",
                     source_, what, position, bytes_.size());
  }
  position_ = position;
  return OkStatus();
}

Result<std::span<const uint8_t>> ByteReader::ReadBytes(size_t count, std::string_view what) {
  if (remaining() < count) return Truncated(what, count);
  auto out = bytes_.subspan(position_, count);
  position_ += count;
  return out;
}

Result<std::string_view> ByteReader::ReadString(size_t count, std::string_view what) {
  LS_ASSIGN_OR_RETURN(auto bytes, ReadBytes(count, what));
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

Error ByteReader::Truncated(std::string_view what, size_t wanted) const {
  return MakeError(ErrorCode::kCorrupt,
                   "{}: truncated: {} needs {} bytes at offset {}, only {} remain", source_, what,
                   wanted, position_, remaining());
}

}  // namespace lorashare

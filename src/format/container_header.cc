#include "format/container_header.h"

#include <algorithm>
#include <cstring>

#include "base/byte_reader.h"

namespace lorashare {
namespace {

// ExecuTorch pads the inserted header to the flatbuffer alignment.
constexpr uint64_t kHeaderPadding = 16;
// flatbuffers::Verifier asserts that a buffer is below 2 GiB.
constexpr uint64_t kMaxFlatbufferRegion = (uint64_t{1} << 31) - 1;

std::string Printable(std::span<const uint8_t> bytes) {
  std::string out;
  for (uint8_t b : bytes) {
    out += (b >= 0x20 && b < 0x7f) ? std::string(1, static_cast<char>(b))
                                   : fmt::format("\\x{:02x}", b);
  }
  return out;
}

void PutLe(std::vector<uint8_t>& out, size_t at, uint64_t value, size_t width) {
  for (size_t i = 0; i < width; ++i) out[at + i] = static_cast<uint8_t>(value >> (8 * i));
}

}  // namespace

Result<ContainerHeader> ParseContainerHeader(std::span<const uint8_t> file,
                                             const ContainerFormat& format,
                                             std::string_view source) {
  if (file.size() < kContainerMinSize) {
    return MakeError(ErrorCode::kCorrupt,
                     "{}: truncated: {} bytes, a {} file needs at least {} for its header", source,
                     file.size(), format.description, kContainerMinSize);
  }
  auto identifier = file.subspan(4, 4);
  if (!std::equal(identifier.begin(), identifier.end(), format.identifier.begin())) {
    return MakeError(ErrorCode::kCorrupt,
                     "{}: not a {} file: file identifier at byte 4 is '{}', expected '{}'", source,
                     format.description, Printable(identifier), format.identifier);
  }
  auto magic = file.subspan(kContainerHeaderOffset, 4);
  if (!std::equal(magic.begin(), magic.end(), format.header_magic.begin())) {
    return MakeError(ErrorCode::kCorrupt,
                     "{}: extended header magic at byte 8 is '{}', expected '{}'", source,
                     Printable(magic), format.header_magic);
  }
  ByteReader reader(file, std::string(source));
  LS_RETURN_IF_ERROR(reader.Seek(kContainerHeaderOffset + 4, "header length"));
  LS_ASSIGN_OR_RETURN(uint32_t length, reader.Read<uint32_t>("header length"));
  ContainerHeader header;
  LS_ASSIGN_OR_RETURN(header.flatbuffer_offset, reader.Read<uint64_t>("flatbuffer_offset"));
  LS_ASSIGN_OR_RETURN(header.flatbuffer_size, reader.Read<uint64_t>("flatbuffer_size"));
  LS_ASSIGN_OR_RETURN(header.segment_base_offset, reader.Read<uint64_t>("segment_base_offset"));
  LS_ASSIGN_OR_RETURN(header.segment_data_size, reader.Read<uint64_t>("segment_data_size"));

  if (length < kContainerHeaderLength) {
    return MakeError(ErrorCode::kCorrupt, "{}: header length {} is less than {}", source, length,
                     kContainerHeaderLength);
  }
  if (header.flatbuffer_offset < length) {
    return MakeError(ErrorCode::kCorrupt, "{}: flatbuffer_offset {} is inside the {}-byte header",
                     source, header.flatbuffer_offset, length);
  }
  // The root offset and identifier (8 bytes) are part of the flatbuffer size.
  if (header.flatbuffer_size < 8 ||
      !RangeInside(header.flatbuffer_offset, header.flatbuffer_size, file.size())) {
    return MakeError(ErrorCode::kCorrupt,
                     "{}: flatbuffer (offset {}, size {}) does not fit the file ({} bytes)", source,
                     header.flatbuffer_offset, header.flatbuffer_size, file.size());
  }
  if (header.flatbuffer_end() >= kMaxFlatbufferRegion) {
    return MakeError(ErrorCode::kCorrupt,
                     "{}: flatbuffer region of {} bytes exceeds the 2 GiB flatbuffer limit", source,
                     header.flatbuffer_end());
  }
  if (header.segment_base_offset == 0 && header.segment_data_size == 0) return header;
  if (header.segment_base_offset < header.flatbuffer_end()) {
    return MakeError(ErrorCode::kCorrupt,
                     "{}: segment_base_offset {} overlaps the flatbuffer ending at {}", source,
                     header.segment_base_offset, header.flatbuffer_end());
  }
  if (!RangeInside(header.segment_base_offset, header.segment_data_size, file.size())) {
    return MakeError(ErrorCode::kCorrupt,
                     "{}: segment data (base {}, size {}) extends past the end of the file ({} "
                     "bytes)",
                     source, header.segment_base_offset, header.segment_data_size, file.size());
  }
  return header;
}

std::vector<uint8_t> BuildContainerHead(std::span<const uint8_t> flatbuffer,
                                        const ContainerFormat& format,
                                        uint64_t segment_base_alignment,
                                        uint64_t segment_data_size) {
  const uint64_t inserted = AlignUp(kContainerHeaderLength, kHeaderPadding);
  const uint64_t flatbuffer_end = inserted + flatbuffer.size();
  const uint64_t segment_base = AlignUp(flatbuffer_end, segment_base_alignment);

  std::vector<uint8_t> head(segment_base, 0);
  std::memcpy(head.data(), flatbuffer.data(), kContainerHeaderOffset);
  std::memcpy(head.data() + kContainerHeaderOffset + inserted,
              flatbuffer.data() + kContainerHeaderOffset,
              flatbuffer.size() - kContainerHeaderOffset);
  uint32_t root;
  std::memcpy(&root, flatbuffer.data(), sizeof(root));
  PutLe(head, 0, root + inserted, 4);
  std::memcpy(head.data() + kContainerHeaderOffset, format.header_magic.data(), 4);
  PutLe(head, 12, kContainerHeaderLength, 4);
  PutLe(head, 16, inserted, 8);
  PutLe(head, 24, flatbuffer.size(), 8);
  PutLe(head, 32, segment_base, 8);
  PutLe(head, 40, segment_data_size, 8);
  return head;
}

}  // namespace lorashare

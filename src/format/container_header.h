// The container layout shared by .ptd and .pte files.
//
// Both are a flatbuffer with a 40-byte extended header inserted at byte 8,
// followed by data segments. The insertion keeps the file a valid flatbuffer
// (the root offset at byte 0 is moved past the header, the file identifier at
// byte 4 stays), so flatbuffer tools read the metadata straight from the file:
//
//   [0..3]   u32 root table offset      [4..7]   file identifier ("FT01")
//   [8..11]  header magic ("FH01")      [12..15] u32 header length (>= 40)
//   [16..23] u64 flatbuffer_offset      [24..31] u64 flatbuffer_size
//   [32..39] u64 segment_base_offset    [40..47] u64 segment_data_size
//
// flatbuffer_offset is the number of bytes inserted after byte 8 (the header
// and its padding), so the flatbuffer region is [0, flatbuffer_offset +
// flatbuffer_size). Segment offsets in the flatbuffer are relative to
// segment_base_offset. The layout is ExecuTorch's FlatTensor header; .pte files
// reuse it with their own magic and identifier.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace lorashare {

struct ContainerFormat {
  std::string_view identifier;    // flatbuffer file identifier at byte 4
  std::string_view header_magic;  // extended header magic at byte 8
  std::string_view description;   // names the file kind in errors
};

inline constexpr ContainerFormat kPtdContainer{"FT01", "FH01", ".ptd (FlatTensor)"};
inline constexpr ContainerFormat kPteContainer{"LSP1", "LH01", ".pte (lorashare program)"};

inline constexpr uint64_t kContainerHeaderOffset = 8;
inline constexpr uint32_t kContainerHeaderLength = 40;
// Smallest file that can hold the header.
inline constexpr uint64_t kContainerMinSize = kContainerHeaderOffset + kContainerHeaderLength;

struct ContainerHeader {
  uint64_t flatbuffer_offset = 0;
  uint64_t flatbuffer_size = 0;
  uint64_t segment_base_offset = 0;
  uint64_t segment_data_size = 0;

  // End of the flatbuffer region (no overflow once parsed).
  uint64_t flatbuffer_end() const { return flatbuffer_offset + flatbuffer_size; }
  // End of everything before the segments: header and flatbuffer. Writers
  // without segments may store a zero segment base.
  uint64_t head_size() const {
    return segment_base_offset != 0 ? segment_base_offset : flatbuffer_end();
  }
};

// Rounds `value` up to a multiple of `alignment` (a power of two).
inline uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

// Reads the header of `file` and checks identifier, magic and length, and that
// the flatbuffer and segment regions lie inside the file. Every failure is a
// kCorrupt error naming `source`.
Result<ContainerHeader> ParseContainerHeader(std::span<const uint8_t> file,
                                             const ContainerFormat& format,
                                             std::string_view source);

// Turns a finished flatbuffer (built with `format.identifier`) into the head of
// a container file: the header is inserted at byte 8 (padded to 16 bytes, as
// ExecuTorch's Python writer does), the root offset adjusted, and the result
// zero-padded to the segment base, which is aligned to `segment_base_alignment`
// (a power of two). `segment_data_size` is stored as given.
std::vector<uint8_t> BuildContainerHead(std::span<const uint8_t> flatbuffer,
                                        const ContainerFormat& format,
                                        uint64_t segment_base_alignment,
                                        uint64_t segment_data_size);

}  // namespace lorashare

// WeightLayout: how a weight matrix's bytes are arranged on disk and in memory.
//
// Quantized layouts are stored already in the form the kernels consume, so
// the runtime maps them and computes on them in place (loading is mapping;
// processes share the pages). One packed blob per matrix [rows, cols]:
//
//   kQ8Row   int8 per output row ("per-channel"), symmetric:
//              w[r][c] = q8[r][c] * scale[r]
//            [rows][padded_cols] int8 q8 | [rows] f32 scale | [rows] i32 row_sum
//            row_sum[r] = sum of q8[r][*] (lets x86 kernels multiply unsigned
//            activations by signed weights: dot(x + 128, q) - 128 * row_sum).
//
//   kQ4Group int4 per group of `group_size` columns along a row, symmetric:
//              w[r][c] = (u4[r][c] - 8) * scale[r][c / group_size]
//            [rows][padded_cols / 2] nibbles | [rows][padded_cols / group_size] f16 scale
//            Nibbles come in blocks of 128 columns (64 bytes): byte j of a block
//            holds column j in its low nibble and column j + 64 in its high
//            nibble, so one load of 16, 32 or 64 bytes unpacks to the activation
//            lanes at the same offsets (SSE/NEON, AVX2, AVX-512 alike).
//
// padded_cols = cols rounded up to kQuantBlock; padding holds zeros (q = 0,
// u4 = 8) with scale 0 for whole padded groups. Each section starts on a
// 64-byte boundary inside the blob.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace lorashare {

enum class WeightLayout : uint8_t {
  kPlain = 0,    // row-major in the tensor's dtype
  kQ8Row = 1,    // see above
  kQ4Group = 2,  // see above
};

// Columns per packing block; quantized rows are padded to a multiple of it.
constexpr int64_t kQuantBlock = 128;
// Alignment of each section inside a packed blob.
constexpr uint64_t kPackedSectionAlignment = 64;

struct PackedGeometry {
  WeightLayout layout = WeightLayout::kPlain;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t padded_cols = 0;
  int64_t group_size = 0;      // kQ4Group: columns per scale; kQ8Row: padded_cols
  uint64_t row_bytes = 0;      // bytes of quantized values per row
  uint64_t scales_offset = 0;  // bytes from the blob start
  uint64_t sums_offset = 0;    // kQ8Row only
  uint64_t total_bytes = 0;
  int64_t groups_per_row() const { return padded_cols / group_size; }
};

// The geometry of a packed [rows, cols] matrix, or an error naming what is
// wrong (non-positive sizes, a group size that is not 32, 64 or 128).
Result<PackedGeometry> PackedGeometryFor(WeightLayout layout, int64_t rows, int64_t cols,
                                         int64_t group_size);

// Short names used in flags, content keys and reports: "plain", "q8row", "q4g32"...
std::string WeightLayoutName(WeightLayout layout, int64_t group_size);
std::string_view WeightLayoutBaseName(WeightLayout layout);  // "plain", "q8row", "q4group"

}  // namespace lorashare

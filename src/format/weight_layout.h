// WeightLayout: how a weight matrix's bytes are arranged on disk and in memory.
//
// Quantized layouts are stored already in the form the kernels consume, so
// the runtime maps them and computes on them in place (loading is mapping;
// processes share the pages). One packed blob per matrix [rows, cols]:
//
//   Both layouts store rows in tiles of kTileRows (16), the last tile padded
//   with zero weights and scale 0, each tile a run of 64-byte chunks whose
//   32-bit lanes are the tile's 16 rows: one vector load holds a few columns
//   of 16 rows (4 or 8 rows per 16- or 32-byte vector on narrower SIMD), so
//   one broadcast of four activations feeds 16 rows' dot products at once
//   (VNNI dpbusd), sums are scaled once per vector of rows, and a tile is one
//   contiguous stream.
//
//   kQ8Row   int8 per output row ("per-channel"), symmetric:
//              w[r][c] = q8[r][c] * scale[r]
//            A tile is [padded_cols / 4] chunks: in chunk k, byte 4 * i + j
//            (i < 16, j < 4) holds q8 of column 4k + j of the tile's row i.
//            Then [padded_rows] f32 scale | [padded_rows] i32 row_sum.
//            row_sum[r] = sum of q8[r][*] (lets x86 kernels multiply unsigned
//            activations by signed weights: dot(x + 128, q) - 128 * row_sum).
//
//   kQ4Group int4 per group of `group_size` columns along a row, symmetric:
//              w[r][c] = (u4[r][c] - 8) * scale[r][c / group_size]
//            A tile is [padded_cols / 8] chunks: in chunk k, byte 4 * i + j
//            (i < 16, j < 4) holds column 8k + j of the tile's row i in its
//            low nibble and column 8k + 4 + j in its high nibble. Then f16
//            scales [tile][group][16 rows].
//
// padded_cols = cols rounded up to kQuantBlock; padding holds zeros (q = 0,
// u4 = 8) with scale 0 for whole padded groups and padded rows. Each section
// starts on a 64-byte boundary inside the blob.
//
// One plain layout is tiled the same way, for matrices with short rows:
//
//   kTiled   elements of the tensor's own dtype (f32, bf16 or f16), rows in
//            tiles of kTileRows, each tile column by column: column c of
//            the tile's row i is element (tile * cols + c) * 16 + i; rows
//            padded with zeros to a multiple of 16. A GEMV multiplies x[c]
//            into 16 rows per column without a horizontal sum per row. The
//            exporter stores LoRA B so: its rows are the rank long (64
//            elements), and a sum per row cost more than reading the row.
//            The tensor's shape stays [rows, cols].
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "format/dtype.h"

namespace lorashare {

enum class WeightLayout : uint8_t {
  kPlain = 0,    // row-major in the tensor's dtype
  kQ8Row = 1,    // see above
  kQ4Group = 2,  // see above
  kTiled = 3,    // see above
};

// The packed quantized blobs (dtype u8), as opposed to plain elements.
inline bool IsQuantized(WeightLayout layout) {
  return layout == WeightLayout::kQ8Row || layout == WeightLayout::kQ4Group;
}

// Columns per packing block; quantized rows are padded to a multiple of it.
constexpr int64_t kQuantBlock = 128;
// Rows per tile of a packed layout; rows are padded to a multiple of it.
constexpr int64_t kTileRows = 16;
// Alignment of each section inside a packed blob.
constexpr uint64_t kPackedSectionAlignment = 64;

struct PackedGeometry {
  WeightLayout layout = WeightLayout::kPlain;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t padded_cols = 0;
  int64_t padded_rows = 0;     // rows rounded up to kTileRows
  int64_t group_size = 0;      // kQ4Group: columns per scale; kQ8Row: padded_cols
  uint64_t row_bytes = 0;      // bytes of quantized values per row
  uint64_t scales_offset = 0;  // bytes from the blob start
  uint64_t sums_offset = 0;    // kQ8Row only
  uint64_t total_bytes = 0;
  int64_t groups_per_row() const { return padded_cols / group_size; }
};

// kTiled: the element index of (row, col), and the elements of a [rows, cols]
// matrix with its padding. A tile-aligned slice of rows [first, ...) starts
// at element first * cols, as a row-major one does.
inline int64_t TiledIndex(int64_t cols, int64_t row, int64_t col) {
  return (row / kTileRows * cols + col) * kTileRows + row % kTileRows;
}
inline int64_t TiledElements(int64_t rows, int64_t cols) {
  return (rows + kTileRows - 1) / kTileRows * kTileRows * cols;
}
// A row-major [rows, cols] matrix of `element_size`-byte elements in kTiled.
std::vector<uint8_t> TileRows(std::span<const uint8_t> row_major, int64_t rows, int64_t cols,
                              size_t element_size);

// Addressing: the byte holding kQ8Row's (row, col), the byte holding
// kQ4Group's (row, col) nibble and whether it is the high one, and the byte
// offset of kQ4Group's scale[row][group] in the blob.
inline uint64_t Q8Byte(const PackedGeometry& g, int64_t row, int64_t col) {
  const int64_t chunk = row / kTileRows * (g.padded_cols / 4) + col / 4;
  return static_cast<uint64_t>(chunk * 64 + row % kTileRows * 4 + col % 4);
}
inline uint64_t Q4NibbleByte(const PackedGeometry& g, int64_t row, int64_t col) {
  const int64_t chunk = row / kTileRows * (g.padded_cols / 8) + col / 8;
  return static_cast<uint64_t>(chunk * 64 + row % kTileRows * 4 + col % 4);
}
inline bool Q4NibbleIsHigh(int64_t col) { return col % 8 >= 4; }
inline uint64_t Q4ScaleByte(const PackedGeometry& g, int64_t row, int64_t group) {
  const int64_t tile = row / kTileRows;
  return g.scales_offset +
         static_cast<uint64_t>(((tile * g.groups_per_row() + group) * kTileRows + row % kTileRows) *
                               2);
}

// The geometry of a packed [rows, cols] matrix, or an error naming what is
// wrong (non-positive sizes, a group size that is not 32, 64 or 128).
Result<PackedGeometry> PackedGeometryFor(WeightLayout layout, int64_t rows, int64_t cols,
                                         int64_t group_size);

// Short names used in flags, content keys and reports: "plain", "q8row", "q4g32"...
std::string WeightLayoutName(WeightLayout layout, int64_t group_size);
std::string_view WeightLayoutBaseName(WeightLayout layout);  // "plain", "q8row", "q4group"
// How a stored tensor is encoded, naming the element type where the layout
// keeps it: "f32", "bf16", "q8row", "q4g32", "f32_tiled". Content keys start
// with it.
std::string StoredFormatName(WeightLayout layout, DType dtype, int64_t group_size);

}  // namespace lorashare

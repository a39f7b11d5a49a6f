#include "format/weight_layout.h"

#include <fmt/format.h>

#include <cstring>

namespace lorashare {
namespace {

constexpr int64_t kMaxPackedDim = int64_t{1} << 31;

uint64_t AlignSection(uint64_t offset) {
  return (offset + kPackedSectionAlignment - 1) / kPackedSectionAlignment * kPackedSectionAlignment;
}

}  // namespace

Result<PackedGeometry> PackedGeometryFor(WeightLayout layout, int64_t rows, int64_t cols,
                                         int64_t group_size) {
  if (rows <= 0 || cols <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "packed matrix shape [{}, {}] is not positive",
                     rows, cols);
  }
  // Keeps the padding and every byte count below in range (rows * row bytes
  // < 2^63): a file's shape must not wrap into a small size.
  if (rows > kMaxPackedDim || cols > kMaxPackedDim) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "packed matrix shape [{}, {}] exceeds {} rows or columns", rows, cols,
                     kMaxPackedDim);
  }
  PackedGeometry g;
  g.layout = layout;
  g.rows = rows;
  g.cols = cols;
  g.padded_cols = (cols + kQuantBlock - 1) / kQuantBlock * kQuantBlock;
  g.padded_rows = (rows + kTileRows - 1) / kTileRows * kTileRows;
  const auto urows = static_cast<uint64_t>(g.padded_rows);
  switch (layout) {
    case WeightLayout::kQ8Row:
      g.group_size = g.padded_cols;
      g.row_bytes = static_cast<uint64_t>(g.padded_cols);
      g.scales_offset = AlignSection(urows * g.row_bytes);
      g.sums_offset = AlignSection(g.scales_offset + urows * sizeof(float));
      g.total_bytes = AlignSection(g.sums_offset + urows * sizeof(int32_t));
      return g;
    case WeightLayout::kQ4Group:
      if (group_size != 32 && group_size != 64 && group_size != 128) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "int4 group size {} is not supported (32, 64 or 128)", group_size);
      }
      g.group_size = group_size;
      g.row_bytes = static_cast<uint64_t>(g.padded_cols / 2);
      g.scales_offset = AlignSection(urows * g.row_bytes);
      g.sums_offset = 0;
      g.total_bytes = AlignSection(
          g.scales_offset + urows * static_cast<uint64_t>(g.groups_per_row()) * sizeof(uint16_t));
      return g;
    case WeightLayout::kPlain:
    case WeightLayout::kTiled:
      break;
  }
  return MakeError(ErrorCode::kInvalidArgument, "layout {} has no packed geometry",
                   static_cast<int>(layout));
}

std::vector<uint8_t> TileRows(std::span<const uint8_t> row_major, int64_t rows, int64_t cols,
                              size_t element_size) {
  std::vector<uint8_t> tiled(static_cast<size_t>(TiledElements(rows, cols)) * element_size, 0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      std::memcpy(tiled.data() + TiledIndex(cols, r, c) * element_size,
                  row_major.data() + (r * cols + c) * element_size, element_size);
    }
  }
  return tiled;
}

std::string_view WeightLayoutBaseName(WeightLayout layout) {
  switch (layout) {
    case WeightLayout::kPlain:
      return "plain";
    case WeightLayout::kQ8Row:
      return "q8row";
    case WeightLayout::kQ4Group:
      return "q4group";
    case WeightLayout::kTiled:
      return "tiled";
  }
  return "unknown";
}

std::string WeightLayoutName(WeightLayout layout, int64_t group_size) {
  if (layout == WeightLayout::kQ4Group) return fmt::format("q4g{}", group_size);
  return std::string(WeightLayoutBaseName(layout));
}

std::string StoredFormatName(WeightLayout layout, DType dtype, int64_t group_size) {
  switch (layout) {
    case WeightLayout::kPlain:
      return std::string(DTypeName(dtype));
    case WeightLayout::kTiled:
      return fmt::format("{}_tiled", DTypeName(dtype));
    default:
      return WeightLayoutName(layout, group_size);
  }
}

}  // namespace lorashare

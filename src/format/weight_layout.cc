#include "format/weight_layout.h"

#include <fmt/format.h>

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
      break;
  }
  return MakeError(ErrorCode::kInvalidArgument, "layout {} has no packed geometry",
                   static_cast<int>(layout));
}

std::string_view WeightLayoutBaseName(WeightLayout layout) {
  switch (layout) {
    case WeightLayout::kPlain:
      return "plain";
    case WeightLayout::kQ8Row:
      return "q8row";
    case WeightLayout::kQ4Group:
      return "q4group";
  }
  return "unknown";
}

std::string WeightLayoutName(WeightLayout layout, int64_t group_size) {
  if (layout == WeightLayout::kQ4Group) return fmt::format("q4g{}", group_size);
  return std::string(WeightLayoutBaseName(layout));
}

}  // namespace lorashare

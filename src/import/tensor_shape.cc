#include "import/tensor_shape.h"

#include <fmt/ranges.h>

namespace lorashare {
namespace {

// Well above any real tensor, far below overflow of byte sizes.
constexpr uint64_t kMaxElements = uint64_t{1} << 48;

}  // namespace

Result<uint64_t> ShapeElementCount(std::span<const int64_t> shape, std::string_view where) {
  uint64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) {
      return MakeError(ErrorCode::kCorrupt, "{}: negative dimension in shape {}", where,
                       ShapeString(shape));
    }
    if (dim != 0 && count > kMaxElements / static_cast<uint64_t>(dim)) {
      return MakeError(ErrorCode::kCorrupt, "{}: shape {} has too many elements", where,
                       ShapeString(shape));
    }
    count *= static_cast<uint64_t>(dim);
  }
  return count;
}

Result<uint64_t> ShapeByteSize(std::span<const int64_t> shape, DType dtype,
                               std::string_view where) {
  LS_ASSIGN_OR_RETURN(uint64_t count, ShapeElementCount(shape, where));
  return count * DTypeSize(dtype);
}

std::string ShapeString(std::span<const int64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

}  // namespace lorashare

#include "import/tensor_reorder.h"

#include <cstring>
#include <vector>

#include "import/tensor_shape.h"

namespace lorashare {
namespace {

// A copy of `tensor`'s metadata over fresh storage of the same size.
TensorRef WithOwnedStorage(const TensorRef& tensor, std::vector<uint8_t>** storage) {
  auto owned = std::make_shared<std::vector<uint8_t>>(tensor.bytes.size());
  *storage = owned.get();
  TensorRef out = tensor;
  out.bytes = std::span<const uint8_t>(owned->data(), owned->size());
  out.keep_alive = owned;
  return out;
}

Status CheckMatrix(const TensorRef& tensor) {
  if (tensor.shape.size() != 2) {
    return MakeError(ErrorCode::kCorrupt, "{}: expected a matrix, got shape {}", tensor.name,
                     ShapeString(tensor.shape));
  }
  LS_ASSIGN_OR_RETURN(uint64_t size, ShapeByteSize(tensor.shape, tensor.dtype, tensor.name));
  if (size != tensor.bytes.size()) {
    return MakeError(ErrorCode::kInternal, "{}: {} bytes for shape {}", tensor.name,
                     tensor.bytes.size(), ShapeString(tensor.shape));
  }
  return OkStatus();
}

}  // namespace

Result<TensorRef> ReorderRopeRows(const TensorRef& tensor, int32_t head_dim, RopeRowOrder to) {
  LS_RETURN_IF_ERROR(CheckMatrix(tensor));
  const int64_t rows = tensor.shape[0];
  if (head_dim <= 0 || head_dim % 2 != 0 || rows % head_dim != 0) {
    return MakeError(ErrorCode::kMismatch, "{}: {} rows are not whole heads of {}", tensor.name,
                     rows, head_dim);
  }
  const size_t row_bytes = static_cast<size_t>(tensor.shape[1]) * DTypeSize(tensor.dtype);
  const int64_t half = head_dim / 2;
  std::vector<uint8_t>* storage;
  TensorRef out = WithOwnedStorage(tensor, &storage);
  for (int64_t head = 0; head < rows / head_dim; ++head) {
    for (int64_t j = 0; j < 2; ++j) {
      for (int64_t i = 0; i < half; ++i) {
        const int64_t halves_row = head * head_dim + j * half + i;
        const int64_t interleaved_row = head * head_dim + 2 * i + j;
        const bool to_halves = to == RopeRowOrder::kHalves;
        const int64_t dst = to_halves ? halves_row : interleaved_row;
        const int64_t src = to_halves ? interleaved_row : halves_row;
        std::memcpy(storage->data() + dst * row_bytes, tensor.bytes.data() + src * row_bytes,
                    row_bytes);
      }
    }
  }
  return out;
}

Result<TensorRef> Transpose2d(const TensorRef& tensor) {
  LS_RETURN_IF_ERROR(CheckMatrix(tensor));
  const int64_t rows = tensor.shape[0];
  const int64_t cols = tensor.shape[1];
  const size_t element = DTypeSize(tensor.dtype);
  std::vector<uint8_t>* storage;
  TensorRef out = WithOwnedStorage(tensor, &storage);
  out.shape = {cols, rows};
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      std::memcpy(storage->data() + (c * rows + r) * element,
                  tensor.bytes.data() + (r * cols + c) * element, element);
    }
  }
  return out;
}

}  // namespace lorashare

// MatrixView: a read-only matrix as the kernels consume it: row-major f32,
// bf16 or f16 (layout kPlain), or a packed quantized blob (see
// format/weight_layout.h). The bytes usually live in a mapped .ptd file; the
// view never owns them.
#pragma once

#include <cstdint>

#include "format/dtype.h"
#include "format/weight_layout.h"

namespace lorashare {

struct MatrixView {
  DType dtype = DType::kF32;  // kPlain element type; kU8 for packed blobs
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  WeightLayout layout = WeightLayout::kPlain;
  int64_t group_size = 0;  // kQ4Group only
};

// True for the element types MatMul reads directly (no conversion needed).
inline bool MatMulTakesDType(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kBF16 || dtype == DType::kF16;
}

}  // namespace lorashare

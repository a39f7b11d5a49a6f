// MatrixView: a read-only row-major matrix as the kernels consume it, in any
// element type the matmul kernels take directly (f32, bf16, f16). The bytes
// usually live in a mapped .ptd file; the view never owns them.
#pragma once

#include <cstdint>

#include "format/dtype.h"

namespace lorashare {

struct MatrixView {
  DType dtype = DType::kF32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
};

// True for the element types MatMul reads directly (no conversion needed).
inline bool MatMulTakesDType(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kBF16 || dtype == DType::kF16;
}

}  // namespace lorashare

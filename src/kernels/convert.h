// ConvertToF32: widens n elements of any plain dtype to f32 (embedding rows,
// norm weights stored in bf16, f64 tensors). f16/bf16/f32 use SIMD.
#pragma once

#include <cstddef>

#include "format/dtype.h"

namespace lorashare {

void ConvertToF32(DType dtype, const void* src, size_t n, float* dst);

// Scalar version: the test reference, and the path for the integer types.
void ConvertToF32Reference(DType dtype, const void* src, size_t n, float* dst);

}  // namespace lorashare

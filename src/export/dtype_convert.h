// Element-type conversion of whole tensors at export time (f32, f16, bf16).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "format/dtype.h"

namespace lorashare {

bool IsFloatDType(DType dtype);

// Converts a tensor's bytes from `from` to `to`; bf16 and f16 round to
// nearest even. Fails for non-float types.
Result<std::vector<uint8_t>> ConvertFloatTensor(std::span<const uint8_t> bytes, DType from,
                                                DType to);

}  // namespace lorashare

#include "export/dtype_convert.h"

#include <cstring>

#include "kernels/convert.h"
#include "kernels/half.h"

namespace lorashare {

bool IsFloatDType(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16;
}

Result<std::vector<uint8_t>> ConvertFloatTensor(std::span<const uint8_t> bytes, DType from,
                                                DType to) {
  if (!IsFloatDType(from) || !IsFloatDType(to)) {
    return MakeError(ErrorCode::kUnsupported, "cannot convert {} to {}", DTypeName(from),
                     DTypeName(to));
  }
  if (bytes.size() % DTypeSize(from) != 0) {
    return MakeError(ErrorCode::kCorrupt, "{} bytes is not a whole number of {} elements",
                     bytes.size(), DTypeName(from));
  }
  const size_t count = bytes.size() / DTypeSize(from);
  std::vector<float> wide(count);
  ConvertToF32(from, bytes.data(), count, wide.data());
  std::vector<uint8_t> out(count * DTypeSize(to));
  if (to == DType::kF32) {
    std::memcpy(out.data(), wide.data(), out.size());
    return out;
  }
  for (size_t i = 0; i < count; ++i) {
    uint16_t half = to == DType::kBF16 ? F32ToBF16(wide[i]) : F32ToF16(wide[i]);
    std::memcpy(out.data() + 2 * i, &half, 2);
  }
  return out;
}

}  // namespace lorashare

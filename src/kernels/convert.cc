#include "kernels/convert.h"

#include <cstdint>
#include <cstring>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/convert.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/simd-inl.h"

HWY_BEFORE_NAMESPACE();
namespace lorashare {
namespace HWY_NAMESPACE {
namespace {

template <typename T>
void Widen(const T* HWY_RESTRICT src, size_t n, float* HWY_RESTRICT dst) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(LoadF32(df, src + i), df, dst + i);
  for (; i < n; ++i) dst[i] = ScalarF32(src[i]);
}

}  // namespace

void WidenHalf(DType dtype, const void* src, size_t n, float* dst) {
  if (dtype == DType::kBF16) {
    Widen(static_cast<const hwy::bfloat16_t*>(src), n, dst);
  } else {
    Widen(static_cast<const hwy::float16_t*>(src), n, dst);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace lorashare
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lorashare {

HWY_EXPORT(WidenHalf);

void ConvertToF32(DType dtype, const void* src, size_t n, float* dst) {
  switch (dtype) {
    case DType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::kBF16:
    case DType::kF16:
      return HWY_DYNAMIC_DISPATCH(WidenHalf)(dtype, src, n, dst);
    default:
      return ConvertToF32Reference(dtype, src, n, dst);
  }
}

namespace {

template <typename T>
void Cast(const void* src, size_t n, float* dst) {
  for (size_t i = 0; i < n; ++i) {
    T value;
    std::memcpy(&value, static_cast<const uint8_t*>(src) + i * sizeof(T), sizeof(T));
    dst[i] = static_cast<float>(value);
  }
}

}  // namespace

void ConvertToF32Reference(DType dtype, const void* src, size_t n, float* dst) {
  const auto* bytes = static_cast<const uint8_t*>(src);
  switch (dtype) {
    case DType::kF32:
      return Cast<float>(src, n, dst);
    case DType::kF16:
    case DType::kBF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t half;
        std::memcpy(&half, bytes + 2 * i, 2);
        dst[i] = dtype == DType::kF16 ? F16ToF32(half) : BF16ToF32(half);
      }
      return;
    case DType::kI8:
      return Cast<int8_t>(src, n, dst);
    case DType::kU8:
      return Cast<uint8_t>(src, n, dst);
    case DType::kI16:
      return Cast<int16_t>(src, n, dst);
    case DType::kI32:
      return Cast<int32_t>(src, n, dst);
    case DType::kI64:
      return Cast<int64_t>(src, n, dst);
    case DType::kF64:
      return Cast<double>(src, n, dst);
    case DType::kBool:
      for (size_t i = 0; i < n; ++i) dst[i] = bytes[i] != 0 ? 1.0f : 0.0f;
      return;
  }
}

}  // namespace lorashare
#endif  // HWY_ONCE

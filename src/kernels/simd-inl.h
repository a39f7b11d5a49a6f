// Per-target Highway helpers shared by the kernels: loading f32/bf16/f16/int8 as
// f32 vectors and horizontal sums. Included once per target (Highway's
// toggled include guard), after hwy/highway.h.
#if defined(LORASHARE_KERNELS_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LORASHARE_KERNELS_SIMD_INL_H_
#undef LORASHARE_KERNELS_SIMD_INL_H_
#else
#define LORASHARE_KERNELS_SIMD_INL_H_
#endif

#include "hwy/highway.h"
#include "kernels/half.h"

HWY_BEFORE_NAMESPACE();
namespace lorashare {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

HWY_INLINE VF LoadF32(DF df, const float* p) { return hn::LoadU(df, p); }
HWY_INLINE VF LoadF32(DF df, const hwy::bfloat16_t* p) {
  return hn::PromoteTo(df, hn::LoadU(hn::Rebind<hwy::bfloat16_t, DF>(), p));
}
HWY_INLINE VF LoadF32(DF df, const hwy::float16_t* p) {
  return hn::PromoteTo(df, hn::LoadU(hn::Rebind<hwy::float16_t, DF>(), p));
}

HWY_INLINE VF LoadF32(DF df, const int8_t* p) {
  const hn::Rebind<int32_t, DF> di32;
  return hn::ConvertTo(df, hn::PromoteTo(di32, hn::LoadU(hn::Rebind<int8_t, DF>(), p)));
}

HWY_INLINE float ScalarF32(float v) { return v; }
HWY_INLINE float ScalarF32(int8_t v) { return v; }
HWY_INLINE float ScalarF32(hwy::bfloat16_t v) {
  uint16_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return BF16ToF32(bits);
}
HWY_INLINE float ScalarF32(hwy::float16_t v) {
  uint16_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return F16ToF32(bits);
}

HWY_INLINE float SumLanes(DF df, VF v) { return hn::GetLane(hn::SumOfLanes(df, v)); }

// Dot product of n floats (vector body, scalar tail).
HWY_INLINE float Dot(const float* HWY_RESTRICT a, const float* HWY_RESTRICT b, size_t n) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  VF acc = hn::Zero(df);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes)
    acc = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), acc);
  float sum = SumLanes(df, acc);
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

}  // namespace HWY_NAMESPACE
}  // namespace lorashare
HWY_AFTER_NAMESPACE();

#endif  // LORASHARE_KERNELS_SIMD_INL_H_

// Per-target Highway helpers shared by the kernels: loading f32/bf16/f16/int8
// as f32 vectors, horizontal sums, int8 quantization and byte dot products.
// Included once per target (Highway's toggled include guard), after
// hwy/highway.h.
#if defined(LORASHARE_KERNELS_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LORASHARE_KERNELS_SIMD_INL_H_
#undef LORASHARE_KERNELS_SIMD_INL_H_
#else
#define LORASHARE_KERNELS_SIMD_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstring>

#include "hwy/highway.h"
#include "kernels/half.h"
#include "kernels/quantize.h"

HWY_BEFORE_NAMESPACE();
namespace lorashare {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Vector registers of the target: what bounds a kernel's accumulators.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL || HWY_ARCH_ARM_A64
constexpr int64_t kVectorRegisters = 32;
#else
constexpr int64_t kVectorRegisters = 16;
#endif

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

// Prefetches the cache line at `p` of a weight stream. A decoded token reads
// every weight once, and nothing reads it again until the whole model has
// streamed past, so it is fetched non-temporally (prefetchnta on x86): it
// stays out of the outer caches, where it would only evict what the token
// reuses (KV cache, activations). Against temporal prefetches, paired in one
// process (1B decode, 2 threads, alternating 8-token blocks): 8da4w g32
// 1.000-1.016, g128 1.009-1.017, bf16 1.008-1.030, f32 1.006-1.010, g32
// with the f32 adapter 1.009-1.016.
HWY_INLINE void PrefetchWeights(const void* p) { __builtin_prefetch(p, 0, 0); }

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

// Quantizes x[0, count) to int8 exactly as QuantizeActivationRow does
// (kernels/quantize.h: same float operations, so the same bytes), zeros up
// to `padded`; returns the scale.
HWY_INLINE float QuantizeInt8Row(const float* HWY_RESTRICT x, int64_t count, int64_t padded,
                                 int8_t* HWY_RESTRICT q) {
  const DF df;
  const hn::Rebind<int32_t, DF> di32;
  const hn::Rebind<int8_t, DF> di8;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  VF vmax = hn::Zero(df);
  int64_t c = 0;
  for (; c + lanes <= count; c += lanes) vmax = hn::Max(vmax, hn::Abs(hn::LoadU(df, x + c)));
  float amax = hn::GetLane(hn::MaxOfLanes(df, vmax));
  for (int64_t i = c; i < count; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float scale = amax / 127.0f;
  const float inverse = scale != 0 ? 1.0f / scale : 0.0f;
  const VF vinverse = hn::Set(df, inverse);
  const auto lo = hn::Set(di32, -127), hi = hn::Set(di32, 127);
  for (c = 0; c + lanes <= count; c += lanes) {
    const auto rounded = hn::NearestInt(hn::Mul(hn::LoadU(df, x + c), vinverse));
    hn::StoreU(hn::DemoteTo(di8, hn::Min(hn::Max(rounded, lo), hi)), di8, q + c);
  }
  for (; c < count; ++c) q[c] = QuantizeInt8(x[c], inverse);
  std::fill(q + count, q + padded, int8_t{0});
  return scale;
}

// Per 16-bit lane i: u[2i] * s[2i] + u[2i + 1] * s[2i + 1], u8 x s8
// (maddubs on x86, which saturates: callers keep every sum below 2^15).
template <class VU8, class VI8>
HWY_INLINE auto PairSums(VU8 u, VI8 s) {
  const hn::Repartition<int16_t, hn::DFromV<VU8>> di16;
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return hn::Vec<decltype(di16)>{_mm512_maddubs_epi16(u.raw, s.raw)};
#elif HWY_TARGET == HWY_AVX2
  return hn::Vec<decltype(di16)>{_mm256_maddubs_epi16(u.raw, s.raw)};
#elif HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
  return hn::Vec<decltype(di16)>{_mm_maddubs_epi16(u.raw, s.raw)};
#else
  const hn::Repartition<uint16_t, decltype(di16)> du16;
  const auto s16 = hn::BitCast(di16, s);
  const auto u_even = hn::And(hn::BitCast(di16, u), hn::Set(di16, 0xFF));
  const auto u_odd = hn::BitCast(di16, hn::ShiftRight<8>(hn::BitCast(du16, u)));
  const auto s_even = hn::ShiftRight<8>(hn::ShiftLeft<8>(s16));
  const auto s_odd = hn::ShiftRight<8>(s16);
  return hn::Add(hn::Mul(u_even, s_even), hn::Mul(u_odd, s_odd));
#endif
}

// acc[i] += p[2i] + p[2i + 1]: pair sums widened to 32 bits.
template <class VI32, class VI16>
HWY_INLINE VI32 AddPairSums(VI32 acc, VI16 p) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return hn::Add(acc, VI32{_mm512_madd_epi16(p.raw, _mm512_set1_epi16(1))});
#elif HWY_TARGET == HWY_AVX2
  return hn::Add(acc, VI32{_mm256_madd_epi16(p.raw, _mm256_set1_epi16(1))});
#elif HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
  return hn::Add(acc, VI32{_mm_madd_epi16(p.raw, _mm_set1_epi16(1))});
#else
  const auto pairs = hn::BitCast(hn::DFromV<VI32>(), p);
  return hn::Add(acc,
                 hn::Add(hn::ShiftRight<16>(hn::ShiftLeft<16>(pairs)), hn::ShiftRight<16>(pairs)));
#endif
}

// acc[i] += sum_{j < 4} u[4i + j] * s[4i + j]: four u8 x s8 products per
// 32-bit lane (VNNI's dpbusd). Elsewhere products are paired in int16 first,
// so each pair must stay below 2^15.
template <class VI32, class VU8, class VI8>
HWY_INLINE VI32 DotBytes(VI32 acc, VU8 u, VI8 s) {
#if HWY_TARGET == HWY_AVX3_DL
  // vpdpbusd in assembly: Highway 1.0.3's AVX3_DL target string enables
  // avxvnni but not avx512vnni, so the intrinsic would not compile here.
  __asm__("vpdpbusd %[s], %[u], %[acc]" : [acc] "+v"(acc.raw) : [u] "v"(u.raw), [s] "v"(s.raw));
  return acc;
#else
  return AddPairSums(acc, PairSums(u, s));
#endif
}

// Whether DotBytes takes any u8 (vpdpbusd); elsewhere u * s pairs must stay
// below 2^15, which |q| x (x * sign(q)) guarantees for q, x in [-127, 127].
constexpr bool kDotBytesFullRange = HWY_TARGET == HWY_AVX3_DL;

// x * sign(q), 0 where q is 0.
template <class VI8>
HWY_INLINE VI8 ApplySign(VI8 x, VI8 q) {
#if HWY_TARGET == HWY_AVX2
  return VI8{_mm256_sign_epi8(x.raw, q.raw)};
#elif HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
  return VI8{_mm_sign_epi8(x.raw, q.raw)};
#else
  return hn::IfThenElse(hn::Lt(q, hn::Zero(hn::DFromV<VI8>())), hn::Neg(x), x);
#endif
}

// The four bytes at `bytes` in every 32-bit lane.
template <class D8>
HWY_INLINE hn::Vec<D8> BroadcastFour(D8 d8, const void* bytes) {
  int32_t four;
  std::memcpy(&four, bytes, sizeof(four));
  return hn::BitCast(d8, hn::Set(hn::Repartition<int32_t, D8>(), four));
}

}  // namespace HWY_NAMESPACE
}  // namespace lorashare
HWY_AFTER_NAMESPACE();

#endif  // LORASHARE_KERNELS_SIMD_INL_H_

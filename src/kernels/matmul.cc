// AVX3_DL (AVX-512 with VNNI) is generated here as in matmul_quant.cc, so
// KernelTargetName() reports it when the quantized kernels run on it.
#define HWY_WANT_AVX3_DL
// Register tiles are arrays of vectors, which SVE's sizeless vector types
// cannot form; NEON serves aarch64.
#define HWY_DISABLED_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#include "kernels/matmul.h"

#include <algorithm>
#include <cstring>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matmul.cc"
#include "hwy/cache_control.h"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/simd-inl.h"

HWY_BEFORE_NAMESPACE();
namespace lorashare {
namespace HWY_NAMESPACE {
namespace {

// Tokens per block of x kept hot in cache while the weight rows stream past.
constexpr int64_t kTokenBlock = 32;

// Weight rows per GEMM tile: 4 x 4 accumulators fit AVX-512's 32 registers,
// 2 x 4 the 16 of AVX2 and SSE.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
constexpr int64_t kGemmRows = 4;
#else
constexpr int64_t kGemmRows = 2;
#endif

// kRows weight rows times kTokens tokens: every weight vector loaded once
// feeds kTokens accumulators.
template <size_t kRows, size_t kTokens, typename T>
HWY_INLINE void Tile(const T* HWY_RESTRICT w, int64_t in, const MatMulArgs& a, int64_t row,
                     int64_t token) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  const float* x = a.x + token * a.x_stride;
  VF acc[kRows][kTokens];
  for (size_t r = 0; r < kRows; ++r) {
    for (size_t t = 0; t < kTokens; ++t) acc[r][t] = hn::Zero(df);
  }
  const T* wr = w + row * in;
  int64_t i = 0;
  for (; i + static_cast<int64_t>(lanes) <= in; i += lanes) {
    VF xv[kTokens];
    for (size_t t = 0; t < kTokens; ++t) xv[t] = hn::LoadU(df, x + t * a.x_stride + i);
    // GEMV: fetch the next tile's rows at the rate this one is consumed; the
    // hardware prefetchers stop at page boundaries and ramp up too late on
    // kRows interleaved streams (same scheme as the quantized GEMV).
    if constexpr (kTokens == 1) {
      for (size_t r = 0; r < kRows; ++r) hwy::Prefetch(wr + (kRows + r) * in + i);
    }
    for (size_t r = 0; r < kRows; ++r) {
      const VF wv = LoadF32(df, wr + r * in + i);
      for (size_t t = 0; t < kTokens; ++t) acc[r][t] = hn::MulAdd(wv, xv[t], acc[r][t]);
    }
  }
  for (size_t r = 0; r < kRows; ++r) {
    for (size_t t = 0; t < kTokens; ++t) {
      float sum = SumLanes(df, acc[r][t]);
      for (int64_t j = i; j < in; ++j) sum += ScalarF32(wr[r * in + j]) * x[t * a.x_stride + j];
      float& out = a.y[(token + t) * a.y_stride + row + r];
      out = a.accumulate ? out + a.scale * sum : a.scale * sum;
    }
  }
}

template <size_t kRows, typename T>
HWY_INLINE void RowTile(const T* w, int64_t in, const MatMulArgs& a, int64_t row, int64_t begin,
                        int64_t end) {
  int64_t t = begin;
  for (; t + 4 <= end; t += 4) Tile<kRows, 4>(w, in, a, row, t);
  switch (end - t) {
    case 3:
      Tile<kRows, 3>(w, in, a, row, t);
      break;
    case 2:
      Tile<kRows, 2>(w, in, a, row, t);
      break;
    case 1:
      Tile<kRows, 1>(w, in, a, row, t);
      break;
    default:
      break;
  }
}

template <typename T>
void MatMulRows(const T* w, int64_t in, const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  if (a.n == 1) {  // GEMV: four rows at a time for independent accumulators
    int64_t r = row_begin;
    for (; r + 4 <= row_end; r += 4) Tile<4, 1>(w, in, a, r, 0);
    for (; r < row_end; ++r) Tile<1, 1>(w, in, a, r, 0);
    return;
  }
  for (int64_t tb = 0; tb < a.n; tb += kTokenBlock) {
    const int64_t te = std::min(a.n, tb + kTokenBlock);
    int64_t r = row_begin;
    for (; r + kGemmRows <= row_end; r += kGemmRows) RowTile<kGemmRows>(w, in, a, r, tb, te);
    for (; r < row_end; ++r) RowTile<1>(w, in, a, r, tb, te);
  }
}

}  // namespace

void MatMulTarget(const MatrixView& w, const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  switch (w.dtype) {
    case DType::kBF16:
      return MatMulRows(static_cast<const hwy::bfloat16_t*>(w.data), w.cols, a, row_begin, row_end);
    case DType::kF16:
      return MatMulRows(static_cast<const hwy::float16_t*>(w.data), w.cols, a, row_begin, row_end);
    default:
      return MatMulRows(static_cast<const float*>(w.data), w.cols, a, row_begin, row_end);
  }
}

const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace lorashare
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/dispatch.h"
#include "kernels/half.h"
#include "kernels/matmul_quant.h"
#include "kernels/quantize.h"

namespace lorashare {

HWY_EXPORT(MatMulTarget);
HWY_EXPORT(TargetName);

const char* KernelTargetName() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }

void MatMul(const MatrixView& w, const MatMulArgs& args, ThreadPool* pool) {
  if (args.n <= 0 || w.rows <= 0) return;
  if (w.layout != WeightLayout::kPlain) return MatMulQuantized(w, args, pool);
  // Chunks of 16 rows keep each thread's output cache lines to itself.
  ParallelFor(
      pool, w.rows,
      [&](int64_t begin, int64_t end) {
        HWY_DYNAMIC_DISPATCH(MatMulTarget)
        (w, args, begin, end);
      },
      16);
}

namespace {

double ElementAt(const MatrixView& w, int64_t index) {
  uint16_t half;
  switch (w.dtype) {
    case DType::kBF16:
      std::memcpy(&half, static_cast<const uint8_t*>(w.data) + index * 2, 2);
      return BF16ToF32(half);
    case DType::kF16:
      std::memcpy(&half, static_cast<const uint8_t*>(w.data) + index * 2, 2);
      return F16ToF32(half);
    default:
      return static_cast<const float*>(w.data)[index];
  }
}

}  // namespace

void MatMulReference(const MatrixView& w, const MatMulArgs& a) {
  if (w.layout != WeightLayout::kPlain) return MatMulQuantizedReference(w, a);
  for (int64_t t = 0; t < a.n; ++t) {
    for (int64_t o = 0; o < w.rows; ++o) {
      double sum = 0;
      for (int64_t i = 0; i < w.cols; ++i)
        sum += ElementAt(w, o * w.cols + i) * a.x[t * a.x_stride + i];
      float& out = a.y[t * a.y_stride + o];
      out = static_cast<float>(a.accumulate ? out + a.scale * sum : a.scale * sum);
    }
  }
}

}  // namespace lorashare
#endif  // HWY_ONCE

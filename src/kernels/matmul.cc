// AVX3_DL (AVX-512 with VNNI) is generated here as in matmul_quant.cc, so
// KernelTargetName() reports it when the quantized kernels run on it.
#define HWY_WANT_AVX3_DL
// Register tiles are arrays of vectors, which SVE's sizeless vector types
// cannot form; NEON serves aarch64.
#define HWY_DISABLED_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#include "kernels/matmul.h"

#include <algorithm>
#include <thread>
#include <vector>

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

// A GEMV prefetches the next row at the position it reads, but at least
// this far ahead: a short row (a rank-64 LoRA B is 256 bytes a row in f32)
// is consumed long before memory answers a prefetch issued one row ahead.
constexpr int64_t kMinPrefetchBytes = 4096;

// Stores one output: y = scale * sum, or y += scale * sum when accumulating.
HWY_INLINE void Output(const MatMulArgs& a, int64_t token, int64_t row, float sum) {
  float& out = a.y[token * a.y_stride + row];
  out = a.accumulate ? out + a.scale * sum : a.scale * sum;
}

// Columns [begin, end) of one row's dot product: the tail after the vectors.
template <typename T>
HWY_INLINE float TailDot(const T* HWY_RESTRICT w, const float* HWY_RESTRICT x, int64_t begin,
                         int64_t end) {
  float sum = 0;
  for (int64_t j = begin; j < end; ++j) sum += ScalarF32(w[j]) * x[j];
  return sum;
}

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
    for (size_t r = 0; r < kRows; ++r) {
      const VF wv = LoadF32(df, wr + r * in + i);
      for (size_t t = 0; t < kTokens; ++t) acc[r][t] = hn::MulAdd(wv, xv[t], acc[r][t]);
    }
  }
  for (size_t r = 0; r < kRows; ++r) {
    for (size_t t = 0; t < kTokens; ++t) {
      const float sum = SumLanes(df, acc[r][t]) + TailDot(wr + r * in, x + t * a.x_stride, i, in);
      Output(a, token + t, row + r, sum);
    }
  }
}

// GEMV reads one weight row at a time, so each thread reads a single
// sequential stream, with kGemvUnroll accumulators to cover the FMA latency.
// Tiles of four rows sharing each x load (as the GEMM does) made four
// interleaved streams per thread, and the 1B-shaped bf16 and f32 decode ran
// 11-12% slower (alternating blocks in one process); kernels_bench
// LargeGemvVsRead went from 0.85-0.91 of the read rate to 0.93-1.03.
constexpr size_t kGemvUnroll = 4;

template <typename T>
HWY_NOINLINE void GemvRow(const T* HWY_RESTRICT w, int64_t in, const MatMulArgs& a, int64_t row) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const float* HWY_RESTRICT x = a.x;
  const T* HWY_RESTRICT wr = w + row * in;
  VF acc[kGemvUnroll];
  for (VF& v : acc) v = hn::Zero(df);
  // Rows are contiguous, so this fetches the next row at the rate this one
  // is consumed: the hardware prefetchers stop at page boundaries.
  const int64_t ahead = std::max(in, kMinPrefetchBytes / static_cast<int64_t>(sizeof(T)));
  constexpr int64_t kLine = 64 / sizeof(T);
  const int64_t step = static_cast<int64_t>(kGemvUnroll) * lanes;
  int64_t i = 0;
  for (; i + step <= in; i += step) {
    for (int64_t b = 0; b < step; b += kLine) hwy::Prefetch(wr + ahead + i + b);
    for (size_t u = 0; u < kGemvUnroll; ++u) {
      const int64_t j = i + static_cast<int64_t>(u) * lanes;
      acc[u] = hn::MulAdd(LoadF32(df, wr + j), hn::LoadU(df, x + j), acc[u]);
    }
  }
  for (; i + lanes <= in; i += lanes) {
    acc[0] = hn::MulAdd(LoadF32(df, wr + i), hn::LoadU(df, x + i), acc[0]);
  }
  for (size_t u = 1; u < kGemvUnroll; ++u) acc[0] = hn::Add(acc[0], acc[u]);
  Output(a, 0, row, SumLanes(df, acc[0]) + TailDot(wr, x, i, in));
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
  if (a.n == 1) {
    for (int64_t r = row_begin; r < row_end; ++r) GemvRow(w, in, a, r);
    return;
  }
  for (int64_t tb = 0; tb < a.n; tb += kTokenBlock) {
    const int64_t te = std::min(a.n, tb + kTokenBlock);
    int64_t r = row_begin;
    for (; r + kGemmRows <= row_end; r += kGemmRows) RowTile<kGemmRows>(w, in, a, r, tb, te);
    for (; r < row_end; ++r) RowTile<1>(w, in, a, r, tb, te);
  }
}

// kTiled (format/weight_layout.h): column c of a tile holds its 16 rows'
// weights, so one broadcast x[c] feeds 16 rows' sums and no row needs a
// horizontal sum. kTiledChains interleaved columns cover the FMA latency.
constexpr size_t kTiledVectors = kTileRows / hn::MaxLanes(DF());
constexpr size_t kTiledChains = std::max<size_t>(1, 4 / kTiledVectors);
static_assert(kTiledVectors * hn::MaxLanes(DF()) == kTileRows);

// One tile's rows [row, row + rows) (rows <= 16) for one token.
template <typename T>
HWY_INLINE void TiledTile(const T* HWY_RESTRICT tile, int64_t in, const MatMulArgs& a,
                          int64_t token, int64_t row, int64_t rows, bool prefetch) {
  const DF df;
  constexpr size_t kLanes = hn::MaxLanes(DF());
  const float* HWY_RESTRICT x = a.x + token * a.x_stride;
  // The tiles are one contiguous stream: fetch a tile (at least 4 KiB) ahead.
  const int64_t ahead =
      std::max(in * kTileRows, kMinPrefetchBytes / static_cast<int64_t>(sizeof(T)));
  VF acc[kTiledChains][kTiledVectors];
  for (auto& chain : acc) {
    for (VF& v : chain) v = hn::Zero(df);
  }
  auto column = [&](size_t chain, int64_t c) {
    const T* w = tile + c * kTileRows;
    if (prefetch) hwy::Prefetch(w + ahead);
    const VF xc = hn::Set(df, x[c]);
    for (size_t v = 0; v < kTiledVectors; ++v)
      acc[chain][v] = hn::MulAdd(xc, LoadF32(df, w + v * kLanes), acc[chain][v]);
  };
  int64_t c = 0;
  for (; c + static_cast<int64_t>(kTiledChains) <= in; c += kTiledChains) {
    for (size_t chain = 0; chain < kTiledChains; ++chain) column(chain, c + chain);
  }
  for (; c < in; ++c) column(0, c);
  HWY_ALIGN float sums[kTileRows];
  for (size_t v = 0; v < kTiledVectors; ++v) {
    for (size_t chain = 1; chain < kTiledChains; ++chain)
      acc[0][v] = hn::Add(acc[0][v], acc[chain][v]);
    hn::Store(acc[0][v], df, sums + v * kLanes);
  }
  for (int64_t i = 0; i < rows; ++i) Output(a, token, row + i, sums[i]);
}

template <typename T>
void TiledRows(const T* w, int64_t in, const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  for (int64_t r = row_begin; r < row_end; r += kTileRows) {
    const int64_t rows = std::min(kTileRows, row_end - r);
    // A tile-aligned row's tile starts at element r * in (TiledIndex).
    for (int64_t t = 0; t < a.n; ++t) TiledTile(w + r * in, in, a, t, r, rows, t == 0);
  }
}

template <typename T>
void RowsOf(const MatrixView& w, const T* data, const MatMulArgs& a, int64_t row_begin,
            int64_t row_end) {
  if (w.layout == WeightLayout::kTiled) return TiledRows(data, w.cols, a, row_begin, row_end);
  MatMulRows(data, w.cols, a, row_begin, row_end);
}

}  // namespace

void MatMulTarget(const MatrixView& w, const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  switch (w.dtype) {
    case DType::kBF16:
      return RowsOf(w, static_cast<const hwy::bfloat16_t*>(w.data), a, row_begin, row_end);
    case DType::kF16:
      return RowsOf(w, static_cast<const hwy::float16_t*>(w.data), a, row_begin, row_end);
    default:
      return RowsOf(w, static_cast<const float*>(w.data), a, row_begin, row_end);
  }
}

const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace lorashare
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/dispatch.h"
#include "kernels/matmul_quant.h"
#include "kernels/quantize.h"

namespace lorashare {

HWY_EXPORT(MatMulTarget);
HWY_EXPORT(TargetName);

const char* KernelTargetName() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }

void MatMulPrologue::Run() {
  for (int64_t unit = next_.fetch_add(1, std::memory_order_relaxed); unit < count_;
       unit = next_.fetch_add(1, std::memory_order_relaxed)) {
    unit_(unit);
    done_.fetch_add(1, std::memory_order_release);
  }
}

void MatMulPrologue::Wait() const {
  while (done_.load(std::memory_order_acquire) < count_) std::this_thread::yield();
}

void MatMulRowRange(const MatrixView& w, const MatMulArgs& args, int64_t row_begin,
                    int64_t row_end) {
  if (row_begin < row_end) HWY_DYNAMIC_DISPATCH(MatMulTarget)(w, args, row_begin, row_end);
}

void MatMul(const MatrixView& w, const MatMulArgs& args, ThreadPool* pool) {
  if (w.rows <= 0) return;
  const MatMulJob job{w, args};
  MatMulSameInput({&job, 1}, pool);
}

void MatMulSameInput(std::span<const MatMulJob> jobs, ThreadPool* pool) {
  if (jobs.empty() || jobs[0].args.n <= 0) return;
  if (IsQuantized(jobs[0].w.layout)) return MatMulQuantized(jobs, pool);
  // Units of 16 rows keep each thread's output cache lines to itself (and
  // kTiled tiles whole).
  constexpr int64_t kChunk = kTileRows;
  std::vector<int64_t> offsets{0};
  for (const MatMulJob& job : jobs)
    offsets.push_back(offsets.back() + (job.w.rows + kChunk - 1) / kChunk);
  ParallelFor(pool, offsets.back(), [&](int64_t begin, int64_t end) {
    RunPrologues(jobs);
    ForEachPart(offsets, begin, end, [&](size_t m, int64_t first, int64_t last) {
      const MatMulJob& job = jobs[m];
      const int64_t row_begin = first * kChunk, row_end = std::min(job.w.rows, last * kChunk);
      HWY_DYNAMIC_DISPATCH(MatMulTarget)(job.w, job.args, row_begin, row_end);
      RowsDone(job.args, row_begin, row_end);
    });
  });
}

void MatMulReference(const MatrixView& w, const MatMulArgs& a) {
  if (IsQuantized(w.layout)) return MatMulQuantizedReference(w, a);
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t o = 0; o < w.rows; ++o) {
    DequantizeRow(w, o, row.data());
    for (int64_t t = 0; t < a.n; ++t) {
      double sum = 0;
      for (int64_t i = 0; i < w.cols; ++i) sum += double{row[i]} * a.x[t * a.x_stride + i];
      float& out = a.y[t * a.y_stride + o];
      out = static_cast<float>(a.accumulate ? out + a.scale * sum : a.scale * sum);
    }
  }
}

}  // namespace lorashare
#endif  // HWY_ONCE

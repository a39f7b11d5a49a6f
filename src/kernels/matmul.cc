// AVX3_DL (AVX-512 with VNNI) is generated here as in matmul_quant.cc, so
// KernelTargetName() reports it when the quantized kernels run on it.
#define HWY_WANT_AVX3_DL
// Register tiles are arrays of vectors, which SVE's sizeless vector types
// cannot form; NEON serves aarch64. (Sanitizer builds define a list that
// includes these: CMakeLists.txt.)
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif
#include "kernels/matmul.h"

#include <algorithm>
#include <thread>
#include <vector>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matmul.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/scratch.h"
#include "kernels/simd-inl.h"

HWY_BEFORE_NAMESPACE();
namespace lorashare {
namespace HWY_NAMESPACE {
namespace {

// A GEMV prefetches the next row at the position it reads, but at least
// kMinPrefetchBytes ahead: a short row (a rank-64 LoRA B is 256 bytes a row
// in f32) is consumed long before memory answers a prefetch issued one row
// ahead. The one-row GEMV fetches at most kMaxPrefetchBytes ahead (GemvRow).
constexpr int64_t kMinPrefetchBytes = 4096;
constexpr int64_t kMaxPrefetchBytes = 8192;

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

// GEMV reads one weight row at a time, so each thread reads a single
// sequential stream, with kGemvUnroll accumulators to cover the FMA latency.
// Tiles of four rows sharing each x load (as the GEMM once did) made four
// interleaved streams per thread, and the 1B-shaped bf16 and f32 decode ran
// 11-12% slower (alternating blocks in one process); kernels_bench
// LargeGemvVsRead went from 0.85-0.91 of the read rate to 0.93-1.03.
constexpr size_t kGemvUnroll = 4;

// Whether the one-row GEMV prefetches rows of kMinPrefetchBytes or more. On
// AVX2 (measured on a Zen 3 host) the hardware prefetchers stream such rows
// faster alone: 1B decode paired in one process (alternating 8-token blocks)
// ran 1.09-1.15x faster in f32 and 1.04-1.07x in bf16 without the software
// prefetch, and 1.00-1.01x with an f32 adapter at 8da4w. Shorter rows (a
// LoRA's B), which the prefetch runs several rows ahead of, keep it, and so
// do the other targets (the AVX-512 ones were tuned on Zen 5, where going
// without it was not measured).
constexpr bool kPrefetchLongRows = HWY_TARGET != HWY_AVX2;

template <typename T>
HWY_NOINLINE void GemvRow(const T* HWY_RESTRICT w, int64_t in, const MatMulArgs& a, int64_t row) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const float* HWY_RESTRICT x = a.x;
  const T* HWY_RESTRICT wr = w + row * in;
  VF acc[kGemvUnroll];
  for (VF& v : acc) v = hn::Zero(df);
  // Rows are contiguous, so this fetches a row ahead at the rate this one is
  // consumed (the hardware prefetchers stop at page boundaries), but at most
  // kMaxPrefetchBytes: farther, the lines leave L1 before their reads. FFN
  // down in bf16 (16 KiB rows) then streamed at 0.835 of a read of the same
  // bytes instead of 0.774, and 1B decode ran 1.4% faster in bf16 (0.994-
  // 1.027, paired in one process) and 1.9% in f32.
  const int64_t ahead = std::clamp(in, kMinPrefetchBytes / static_cast<int64_t>(sizeof(T)),
                                   kMaxPrefetchBytes / static_cast<int64_t>(sizeof(T)));
  constexpr int64_t kLine = 64 / sizeof(T);
  const int64_t step = static_cast<int64_t>(kGemvUnroll) * lanes;
  int64_t i = 0;
  const bool prefetch =
      kPrefetchLongRows || in * static_cast<int64_t>(sizeof(T)) < kMinPrefetchBytes;
  for (; i + step <= in; i += step) {
    if (prefetch) {
      for (int64_t b = 0; b < step; b += kLine) PrefetchWeights(wr + ahead + i + b);
    }
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

// ---------------------------------------------------------------- GEMM

// The GEMM packs kPanelRows weight rows x kDepth columns at a time into an
// f32 panel, column by column (as kTiled stores a tile), so that a column is
// whole vectors of rows: one broadcast activation x[t][k] feeds
// kPanelVectors FMAs, and no sum needs a horizontal add. Per column, a
// register tile of kPanelVectors x kPanelTokens accumulators loads
// kPanelVectors vectors and kPanelTokens scalars, all from L1. The dot
// products along rows it replaced (4 rows x 4 tokens, a vector of x and one
// of w loaded per two FMAs, then horizontal sums) ran at half the FMA peak
// even in L1; `kernels_bench BM_MatMul` n=128, one thread, went from 43-51
// to 80-88 GMAC/s in f32 and from 63-72 to 84-95 in bf16.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
constexpr int64_t kPanelRows = 2 * kTileRows;
#else
constexpr int64_t kPanelRows = kTileRows;
#endif
constexpr size_t kPanelVectors = kPanelRows / hn::MaxLanes(DF());
static_assert(kPanelVectors * hn::MaxLanes(DF()) == kPanelRows);
// The accumulators, a panel column and one broadcast fill the registers.
constexpr size_t kPanelTokens = static_cast<size_t>(
    std::clamp<int64_t>((kVectorRegisters - 1 - static_cast<int64_t>(kPanelVectors)) /
                            static_cast<int64_t>(kPanelVectors),
                        1, 12));

// Columns per panel: the panel (32 KiB on AVX-512) stays in L1 while every
// token passes over it, and each depth block adds its part into y. 128
// columns ran 4-6% slower.
constexpr int64_t kDepth = 256;

// Rows whose panels take one depth block after another: their y rows stay
// in L2 from one depth block to the next (1 KiB per token), and the x
// columns of a depth block from one panel to the next. Depth blocks over a
// thread's whole row range instead wrote y back to L3 in every block (FFN
// up, 8192 rows: 60-66 GMAC/s against 81).
constexpr int64_t kGroupRows = 256;

// Tokens per pass over the weights, which bounds those y rows and x columns.
constexpr int64_t kTokenBlock = 256;

// Writes the transpose of a lanes x lanes block, whose rows are v[0..lanes),
// to out: column j at out + j * kPanelRows. Interleaving 32-bit and then
// 64-bit lanes transposes each 128-bit block of 4 x 4; wider vectors then
// exchange whole blocks, between pairs of 4-row groups and then between
// their halves.
#if HWY_TARGET == HWY_SCALAR
HWY_INLINE void StoreTransposed(VF* v, float* HWY_RESTRICT out) { out[0] = hn::GetLane(v[0]); }
#else
// A template, so that only the branch of this target's width is compiled.
template <size_t kLanes = hn::MaxLanes(DF())>
HWY_INLINE void StoreTransposed(VF* v, float* HWY_RESTRICT out) {
  const DF df;
  const hn::Repartition<uint64_t, DF> d64;
  VF b[kLanes];
  for (size_t g = 0; g < kLanes; g += 4) {
    const auto a0 = hn::BitCast(d64, hn::InterleaveLower(df, v[g], v[g + 1]));
    const auto a1 = hn::BitCast(d64, hn::InterleaveUpper(df, v[g], v[g + 1]));
    const auto a2 = hn::BitCast(d64, hn::InterleaveLower(df, v[g + 2], v[g + 3]));
    const auto a3 = hn::BitCast(d64, hn::InterleaveUpper(df, v[g + 2], v[g + 3]));
    // b[g + j], block i: column 4i + j of rows g..g+3.
    b[g + 0] = hn::BitCast(df, hn::InterleaveLower(d64, a0, a2));
    b[g + 1] = hn::BitCast(df, hn::InterleaveUpper(d64, a0, a2));
    b[g + 2] = hn::BitCast(df, hn::InterleaveLower(d64, a1, a3));
    b[g + 3] = hn::BitCast(df, hn::InterleaveUpper(d64, a1, a3));
  }
  for (size_t j = 0; j < 4; ++j) {
    if constexpr (kLanes == 4) {
      hn::Store(b[j], df, out + j * kPanelRows);
    } else if constexpr (kLanes == 8) {
      hn::Store(hn::ConcatLowerLower(df, b[4 + j], b[j]), df, out + j * kPanelRows);
      hn::Store(hn::ConcatUpperUpper(df, b[4 + j], b[j]), df, out + (4 + j) * kPanelRows);
    } else {
      static_assert(kLanes == 16, "vectors of 4, 8 or 16 floats");
      const VF even01 = hn::OddEvenBlocks(hn::SwapAdjacentBlocks(b[4 + j]), b[j]);
      const VF odd01 = hn::OddEvenBlocks(b[4 + j], hn::SwapAdjacentBlocks(b[j]));
      const VF even23 = hn::OddEvenBlocks(hn::SwapAdjacentBlocks(b[12 + j]), b[8 + j]);
      const VF odd23 = hn::OddEvenBlocks(b[12 + j], hn::SwapAdjacentBlocks(b[8 + j]));
      hn::Store(hn::ConcatLowerLower(df, even23, even01), df, out + j * kPanelRows);
      hn::Store(hn::ConcatLowerLower(df, odd23, odd01), df, out + (4 + j) * kPanelRows);
      hn::Store(hn::ConcatUpperUpper(df, even23, even01), df, out + (8 + j) * kPanelRows);
      hn::Store(hn::ConcatUpperUpper(df, odd23, odd01), df, out + (12 + j) * kPanelRows);
    }
  }
}
#endif

// Packs rows [row, row + rows) (rows <= kPanelRows) x columns [k0, k0 +
// depth) of row-major `w` as f32 panel[k][r]; rows past `rows` repeat the
// last one (their sums are not stored).
template <typename T>
HWY_INLINE void PackPanel(const T* w, int64_t in, int64_t row, int64_t rows, int64_t k0,
                          int64_t depth, float* HWY_RESTRICT panel) {
  const DF df;
  constexpr int64_t kLanes = static_cast<int64_t>(hn::MaxLanes(DF()));
  const T* src[kPanelRows];
  for (int64_t r = 0; r < kPanelRows; ++r) src[r] = w + (row + std::min(r, rows - 1)) * in + k0;
  int64_t k = 0;
  for (; k + kLanes <= depth; k += kLanes) {
    for (int64_t g = 0; g < kPanelRows; g += kLanes) {
      VF v[kLanes];
      for (int64_t i = 0; i < kLanes; ++i) v[i] = LoadF32(df, src[g + i] + k);
      StoreTransposed(v, panel + k * kPanelRows + g);
    }
  }
  for (; k < depth; ++k) {
    for (int64_t r = 0; r < kPanelRows; ++r) panel[k * kPanelRows + r] = ScalarF32(src[r][k]);
  }
}

// PackPanel from kTiled `w` (row tile-aligned): each of the panel's tiles is
// already column by column. Tiles past `rows` repeat the first.
template <typename T>
HWY_INLINE void PackTiledPanel(const T* w, int64_t in, int64_t row, int64_t rows, int64_t k0,
                               int64_t depth, float* HWY_RESTRICT panel) {
  const DF df;
  constexpr int64_t kLanes = static_cast<int64_t>(hn::MaxLanes(DF()));
  for (int64_t tile = 0; tile < kPanelRows; tile += kTileRows) {
    const T* src = w + (row + (tile < rows ? tile : 0)) * in + k0 * kTileRows;
    for (int64_t k = 0; k < depth; ++k) {
      for (int64_t i = 0; i < kTileRows; i += kLanes) {
        hn::Store(LoadF32(df, src + k * kTileRows + i), df, panel + k * kPanelRows + tile + i);
      }
    }
  }
}

// kTokens tokens from `token` on over one packed panel: y rows [row, row +
// rows) += (or =, unless `add`) scale * x W^T for the panel's columns.
template <size_t kTokens>
HWY_INLINE void PanelTile(const float* HWY_RESTRICT panel, int64_t depth, const float* x,
                          const MatMulArgs& a, int64_t token, int64_t row, int64_t rows, bool add) {
  const DF df;
  constexpr size_t kLanes = hn::MaxLanes(DF());
  VF acc[kTokens][kPanelVectors];
  for (auto& sums : acc) {
    for (VF& v : sums) v = hn::Zero(df);
  }
  const float* xt[kTokens];
  for (size_t t = 0; t < kTokens; ++t) xt[t] = x + (token + static_cast<int64_t>(t)) * a.x_stride;
  for (int64_t k = 0; k < depth; ++k) {
    VF w[kPanelVectors];
    for (size_t v = 0; v < kPanelVectors; ++v)
      w[v] = hn::Load(df, panel + k * kPanelRows + v * kLanes);
    for (size_t t = 0; t < kTokens; ++t) {
      const VF xk = hn::Set(df, xt[t][k]);
      for (size_t v = 0; v < kPanelVectors; ++v) acc[t][v] = hn::MulAdd(w[v], xk, acc[t][v]);
    }
  }
  const VF scale = hn::Set(df, a.scale);
  for (size_t t = 0; t < kTokens; ++t) {
    float* y = a.y + (token + static_cast<int64_t>(t)) * a.y_stride + row;
    HWY_ALIGN float sums[kPanelRows];
    for (size_t v = 0; v < kPanelVectors; ++v) {
      VF out = hn::Mul(acc[t][v], scale);
      if (rows == kPanelRows) {
        if (add) out = hn::Add(out, hn::LoadU(df, y + v * kLanes));
        hn::StoreU(out, df, y + v * kLanes);
      } else {
        hn::Store(out, df, sums + v * kLanes);
      }
    }
    if (rows == kPanelRows) continue;
    for (int64_t r = 0; r < rows; ++r) y[r] = add ? y[r] + sums[r] : sums[r];
  }
}

// The last `count` (< kTokens) tokens over a panel.
template <size_t kTokens>
HWY_INLINE void PanelTokenTail(size_t count, const float* panel, int64_t depth, const float* x,
                               const MatMulArgs& a, int64_t token, int64_t row, int64_t rows,
                               bool add) {
  if constexpr (kTokens > 0) {
    if (count == kTokens) return PanelTile<kTokens>(panel, depth, x, a, token, row, rows, add);
    PanelTokenTail<kTokens - 1>(count, panel, depth, x, a, token, row, rows, add);
  }
}

// Rows [row_begin, row_end) for every token: per block of tokens and group
// of rows, one depth block after another, each panel packed once and then
// run past every token of the block. `w` is row-major, or kTiled if kTiled.
template <bool kTiled, typename T>
void GemmRows(const T* w, int64_t in, const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  thread_local Scratch scratch;
  float* panel = scratch.Get<float>(kPanelRows * kDepth);
  for (int64_t tb = 0; tb < a.n; tb += kTokenBlock) {
    const int64_t te = std::min(a.n, tb + kTokenBlock);
    for (int64_t group = row_begin; group < row_end; group += kGroupRows) {
      const int64_t group_end = std::min(row_end, group + kGroupRows);
      for (int64_t k0 = 0; k0 < in; k0 += kDepth) {
        const int64_t depth = std::min(kDepth, in - k0);
        const bool add = a.accumulate || k0 > 0;
        for (int64_t row = group; row < group_end; row += kPanelRows) {
          const int64_t rows = std::min(kPanelRows, group_end - row);
          if constexpr (kTiled) {
            PackTiledPanel(w, in, row, rows, k0, depth, panel);
          } else {
            PackPanel(w, in, row, rows, k0, depth, panel);
          }
          int64_t t = tb;
          for (; t + static_cast<int64_t>(kPanelTokens) <= te; t += kPanelTokens) {
            PanelTile<kPanelTokens>(panel, depth, a.x + k0, a, t, row, rows, add);
          }
          PanelTokenTail<kPanelTokens - 1>(static_cast<size_t>(te - t), panel, depth, a.x + k0, a,
                                           t, row, rows, add);
        }
      }
    }
  }
}

template <typename T>
void MatMulRows(const T* w, int64_t in, const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  if (a.n > 1) return GemmRows<false>(w, in, a, row_begin, row_end);
  for (int64_t r = row_begin; r < row_end; ++r) GemvRow(w, in, a, r);
}

// kTiled (format/weight_layout.h): column c of a tile holds its 16 rows'
// weights, so one broadcast x[c] feeds 16 rows' sums and no row needs a
// horizontal sum. kTiledChains interleaved columns cover the FMA latency.
constexpr size_t kTiledVectors = kTileRows / hn::MaxLanes(DF());
constexpr size_t kTiledChains = std::max<size_t>(1, 4 / kTiledVectors);
static_assert(kTiledVectors * hn::MaxLanes(DF()) == kTileRows);

// One tile's rows [row, row + rows) (rows <= 16) for one token (GEMV).
template <typename T>
HWY_INLINE void TiledTile(const T* HWY_RESTRICT tile, int64_t in, const MatMulArgs& a, int64_t row,
                          int64_t rows) {
  const DF df;
  constexpr size_t kLanes = hn::MaxLanes(DF());
  const float* HWY_RESTRICT x = a.x;
  // The tiles are one contiguous stream: fetch a tile (at least 4 KiB) ahead.
  const int64_t ahead =
      std::max(in * kTileRows, kMinPrefetchBytes / static_cast<int64_t>(sizeof(T)));
  VF acc[kTiledChains][kTiledVectors];
  for (auto& chain : acc) {
    for (VF& v : chain) v = hn::Zero(df);
  }
  auto column = [&](size_t chain, int64_t c) {
    const T* w = tile + c * kTileRows;
    PrefetchWeights(w + ahead);
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
  for (int64_t i = 0; i < rows; ++i) Output(a, 0, row + i, sums[i]);
}

template <typename T>
void TiledRows(const T* w, int64_t in, const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  if (a.n > 1) return GemmRows<true>(w, in, a, row_begin, row_end);
  for (int64_t r = row_begin; r < row_end; r += kTileRows) {
    // A tile-aligned row's tile starts at element r * in (TiledIndex).
    TiledTile(w + r * in, in, a, r, std::min(kTileRows, row_end - r));
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

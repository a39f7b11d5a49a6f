// Quantized MatMul kernels. Per call, every token's activations are quantized
// once (kernels/quantize.h) into a reused per-thread buffer together with what
// the integer dot products need; then output rows are split across the pool.
//
// Integer core: DotBytes adds, per 32-bit lane, the sum of four u8 x s8
// products of the bytes at that lane's offset (VNNI's dpbusd). Elsewhere it
// pairs products in int16 first (maddubs + madd on x86, shifts and multiplies
// in generic Highway code), so pairs must stay below 2^15:
//   kQ4Group: u4 (0..15) x xq; the -8 offset is the group correction
//             -8 * (sum of the group's xq), precomputed per token and used as
//             the initial value of each group's integer sums.
//   kQ8Row:   VNNI: (xq + 128) x q, minus 128 * row_sum at the end;
//             otherwise |q| x (xq * sign(q)), which keeps pairs in int16.
// Lanes are rows (16-row tiles, format/weight_layout.h): four activations
// broadcast to all lanes meet four columns of every row. kQ8Row keeps one
// integer sum per row and scales once; kQ4Group converts each group's sums
// to f32 and scales them once per vector of rows.
//
// GEMM register tiles of row tiles x tokens reuse every loaded (unpacked)
// weight vector for all tokens of the tile; GEMV reads one row tile at a
// time, a single contiguous stream per thread.
#define HWY_WANT_AVX3_DL  // generate AVX-512 VNNI (dpbusd)
// Register tiles are arrays of vectors, which SVE's sizeless vector types
// cannot form; NEON serves aarch64. (Sanitizer builds define a list that
// includes these: CMakeLists.txt.)
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif
#include "kernels/matmul_quant.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/half.h"
#include "kernels/scratch.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matmul_quant.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/simd-inl.h"

#ifndef LORASHARE_KERNELS_MATMUL_QUANT_ONCE
#define LORASHARE_KERNELS_MATMUL_QUANT_ONCE
namespace lorashare {
namespace {

// What every kernel reads: the packed weights and the prepared activations.
struct QuantProblem {
  PackedGeometry g;
  const uint8_t* blob;
  MatMulArgs args;
  const uint8_t* act;   // per token: padded_cols bytes (xq, or xq + 128 on VNNI for kQ8Row)
  const int32_t* corr;  // kQ4Group: per token, corr_stride group corrections
  int64_t corr_stride;
  const float* sx;  // per token
};

// kQ4Group: per group, -8 * (sum of the group's xq): the initial integer sum
// that turns the stored u4 into u4 - 8.
void PrepareQ4Corrections(const int8_t* xq, int64_t padded_cols, int64_t group, int32_t* corr) {
  for (int64_t g = 0; g < padded_cols / group; ++g) {
    int32_t sum = 0;
    for (int64_t c = g * group; c < (g + 1) * group; ++c) sum += xq[c];
    corr[g] = -8 * sum;
  }
}

// Writes one output: y = scale * sx * sum (+ y when accumulating).
inline void Store(const QuantProblem& p, int64_t token, int64_t row, double sum) {
  float& out = p.args.y[token * p.args.y_stride + row];
  const double value = static_cast<double>(p.args.scale) * p.sx[token] * sum;
  out = static_cast<float>(p.args.accumulate ? out + value : value);
}

}  // namespace
}  // namespace lorashare
#endif  // LORASHARE_KERNELS_MATMUL_QUANT_ONCE

HWY_BEFORE_NAMESPACE();
namespace lorashare {
namespace HWY_NAMESPACE {
namespace {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR

// One lane per vector: plain integer loops over the prepared xq, for the
// rows of tiles [tile_begin, tile_end).
void Q8Tiles(const QuantProblem& p, int64_t tile_begin, int64_t tile_end) {
  const int64_t row_end = std::min(p.g.rows, tile_end * kTileRows);
  for (int64_t r = tile_begin * kTileRows; r < row_end; ++r) {
    float scale;
    std::memcpy(&scale, p.blob + p.g.scales_offset + r * sizeof(float), sizeof(float));
    for (int64_t t = 0; t < p.args.n; ++t) {
      const auto* xq = reinterpret_cast<const int8_t*>(p.act + t * p.g.padded_cols);
      int32_t sum = 0;
      for (int64_t c = 0; c < p.g.padded_cols; ++c) {
        sum += static_cast<int8_t>(p.blob[Q8Byte(p.g, r, c)]) * xq[c];
      }
      Store(p, t, r, static_cast<double>(scale) * sum);
    }
  }
}

void Q4Tiles(const QuantProblem& p, int64_t tile_begin, int64_t tile_end) {
  const int64_t group = p.g.group_size;
  const int64_t row_end = std::min(p.g.rows, tile_end * kTileRows);
  for (int64_t r = tile_begin * kTileRows; r < row_end; ++r) {
    for (int64_t t = 0; t < p.args.n; ++t) {
      const auto* xq = reinterpret_cast<const int8_t*>(p.act + t * p.g.padded_cols);
      float sum = 0;
      for (int64_t g = 0; g < p.g.groups_per_row(); ++g) {
        int32_t isum = p.corr[t * p.corr_stride + g];
        for (int64_t c = g * group; c < (g + 1) * group; ++c) {
          const uint8_t byte = p.blob[Q4NibbleByte(p.g, r, c)];
          isum += (Q4NibbleIsHigh(c) ? byte >> 4 : byte & 0xF) * xq[c];
        }
        uint16_t scale;
        std::memcpy(&scale, p.blob + Q4ScaleByte(p.g, r, g), sizeof(scale));
        sum += F16ToF32(scale) * static_cast<float>(isum);
      }
      Store(p, t, r, sum);
    }
  }
}

constexpr bool kQ8Unsigned = false;
void ToUnsigned(uint8_t*, int64_t) {}

#else  // HWY_TARGET != HWY_SCALAR

// x86 targets use whole vectors; elsewhere (NEON, SVE, ...) 16 bytes.
#if HWY_ARCH_X86
using DU8 = hn::ScalableTag<uint8_t>;
#else
using DU8 = hn::FixedTag<uint8_t, 16>;
#endif
using DI8 = hn::Repartition<int8_t, DU8>;
using DI16 = hn::Repartition<int16_t, DU8>;
using DU16 = hn::Repartition<uint16_t, DU8>;
using DI32 = hn::Repartition<int32_t, DU8>;
using DF = hn::Repartition<float, DU8>;
using VU8 = hn::Vec<DU8>;
using VI8 = hn::Vec<DI8>;
using VI16 = hn::Vec<DI16>;
using VI32 = hn::Vec<DI32>;
using VF = hn::Vec<DF>;

constexpr int64_t kVecBytes = static_cast<int64_t>(hn::MaxLanes(DU8()));
static_assert(kQuantBlock % kVecBytes == 0, "vectors must tile a padded kQ8Row row");

constexpr bool kQ8Unsigned = kDotBytesFullRange;

// Each 32-bit lane of a vector is one row of a 16-row tile (weight_layout.h);
// a tile's 64-byte chunk is kVecsPerTile vectors.
constexpr int64_t kRowsPerVec = static_cast<int64_t>(hn::MaxLanes(DI32()));
constexpr size_t kVecsPerTile = static_cast<size_t>(kTileRows / kRowsPerVec);
static_assert(kTileRows % kRowsPerVec == 0, "vectors must tile a row tile");

// Vector v of a register tile that starts at `tile`: its first row, and the
// offset of its bytes within chunk 0 of that tile (lane_bytes per row).
HWY_INLINE int64_t FirstRow(int64_t tile, size_t v) {
  return (tile + static_cast<int64_t>(v / kVecsPerTile)) * kTileRows +
         static_cast<int64_t>(v % kVecsPerTile) * kRowsPerVec;
}
HWY_INLINE uint64_t VecOffset(size_t v, uint64_t tile_bytes, uint64_t lane_bytes) {
  return v / kVecsPerTile * tile_bytes + v % kVecsPerTile * kRowsPerVec * lane_bytes;
}

// How far ahead of its reads a GEMV prefetches. Interleaved in one process
// (bench --baseline on one program, the distance switched per 8-token block,
// fast memory phase), 1B decode with 8 KiB ran 4.6-4.9% faster at 8da4w g32,
// 5.3% at g128 and 4.2% at int8 than with the two tiles (32 to 128 KiB) it
// used to fetch ahead; 5 KiB was 3% slower than 8 KiB, 6 to 12 KiB the same.
// Farther ahead than the 48 KiB L1 holds, prefetched lines are evicted before
// their reads; nearer, too few are in flight.
constexpr uint64_t kPrefetchBytes = 8192;

// The kQ4Group scales are a second stream, an eighth of the weights' bytes
// at group size 32 (a 32nd at 128), which the hardware prefetchers alone
// leave behind. Fetching each group's scales 1 KiB ahead (8 KiB of g32
// weights) made 1B decode at 8da4w g32 3.0-3.1% faster (paired in one
// process; 512 bytes ahead: 3.4-4.8%, 1 KiB against 512 bytes 1.006-1.012,
// 256 bytes 0.987-0.993, 2 KiB the same as 1 KiB). At g128 it is neutral
// (0.988-1.014).
constexpr uint64_t kScalesPrefetchBytes = 1024;

// GEMV streams the weights once, one tile at a time: a thread's tiles are
// contiguous, one stream, which the hardware prefetchers (stopping at page
// boundaries) still ramp up on too late. While a tile reads byte `offset`,
// fetch the byte `ahead` on (in the next tile near a tile's end), at the
// rate of consumption. A prefetch past the mapping's end is a no-op.
template <size_t kTiles, size_t kTokens>
HWY_INLINE void PrefetchAhead(const uint8_t* tile, uint64_t tile_bytes, int64_t offset,
                              uint64_t ahead = kPrefetchBytes) {
  if constexpr (kTokens == 1) {
    for (size_t a = 0; a < kTiles; ++a) PrefetchWeights(tile + a * tile_bytes + offset + ahead);
  }
}

// ---------------------------------------------------------------- kQ8Row

// kTiles row tiles from `tile` on, x kTokens tokens from `token` on: one dot
// product per chunk of 4 columns with those activations broadcast; integer
// sums over the whole row, scaled at the end.
template <size_t kTiles, size_t kTokens>
HWY_INLINE void Q8Tile(const QuantProblem& p, int64_t tile, int64_t token) {
  constexpr size_t kVecs = kTiles * kVecsPerTile;
  // One token: independent sums for consecutive chunks, so the adds do not
  // wait on each other (a single chain is latency-bound, well below memory
  // speed); several tokens are independent already.
  constexpr int64_t kChains = kTokens == 1 ? 4 : 1;
  const DU8 du8;
  const DI8 di8;
  const DI32 di32;
  VI32 acc[kChains][kVecs][kTokens];
  for (auto& chain : acc) {
    for (size_t v = 0; v < kVecs; ++v) {
      for (size_t t = 0; t < kTokens; ++t) chain[v][t] = hn::Zero(di32);
    }
  }
  const uint64_t tile_bytes = p.g.row_bytes * kTileRows;
  const uint8_t* w = p.blob + tile * tile_bytes;
  static_assert(kQuantBlock / 4 % kChains == 0, "chains must divide the chunks of a row");
  for (int64_t k0 = 0; k0 < p.g.padded_cols / 4; k0 += kChains) {
    for (int64_t chain = 0; chain < kChains; ++chain) {
      const int64_t k = k0 + chain;
      PrefetchAhead<kTiles, kTokens>(w, tile_bytes, k * 64);
      VI8 x[kTokens];
      for (size_t t = 0; t < kTokens; ++t) {
        x[t] = BroadcastFour(DI8(),
                             p.act + (token + static_cast<int64_t>(t)) * p.g.padded_cols + k * 4);
      }
      for (size_t v = 0; v < kVecs; ++v) {
        const VI8 q = hn::LoadU(
            di8, reinterpret_cast<const int8_t*>(w + VecOffset(v, tile_bytes, 4) + k * 64));
        VI32* sums = acc[chain][v];
        if constexpr (kQ8Unsigned) {
          for (size_t t = 0; t < kTokens; ++t) {
            sums[t] = DotBytes(sums[t], hn::BitCast(du8, x[t]), q);
          }
        } else {
          const VU8 abs_q = hn::BitCast(du8, hn::Abs(q));
          for (size_t t = 0; t < kTokens; ++t) {
            sums[t] = DotBytes(sums[t], abs_q, ApplySign(x[t], q));
          }
        }
      }
    }
  }
  for (int64_t chain = 1; chain < kChains; ++chain) {
    for (size_t v = 0; v < kVecs; ++v) {
      for (size_t t = 0; t < kTokens; ++t) acc[0][v][t] = hn::Add(acc[0][v][t], acc[chain][v][t]);
    }
  }
  // Exact integer sums, then double (as the reference): f32 would round
  // sums past 2^24.
  for (size_t v = 0; v < kVecs; ++v) {
    const int64_t first_row = FirstRow(tile, v);
    const int64_t rows = std::min<int64_t>(kRowsPerVec, p.g.rows - first_row);
    float scales[kRowsPerVec];
    int32_t row_sums[kRowsPerVec];
    std::memcpy(scales, p.blob + p.g.scales_offset + first_row * sizeof(float), sizeof(scales));
    std::memcpy(row_sums, p.blob + p.g.sums_offset + first_row * sizeof(int32_t), sizeof(row_sums));
    for (size_t t = 0; t < kTokens; ++t) {
      HWY_ALIGN int32_t sums[kRowsPerVec];
      hn::Store(acc[0][v][t], di32, sums);
      for (int64_t i = 0; i < rows; ++i) {
        const int32_t sum = kQ8Unsigned ? sums[i] - 128 * row_sums[i] : sums[i];
        Store(p, token + static_cast<int64_t>(t), first_row + i,
              static_cast<double>(scales[i]) * sum);
      }
    }
  }
}

// ---------------------------------------------------------------- kQ4Group

// kTiles row tiles from `tile` on, x kTokens tokens from `token` on. Per
// group, the integer sums of every (row, token) start at the token's
// correction, take two dot products per chunk of 8 columns (low nibbles with
// the chunk's first four activations broadcast, high nibbles with the next
// four), and are converted and scaled once. kChunks > 0 fixes the chunks per
// group at compile time (group_size / 8), so the group's loop unrolls whole.
// Without VNNI, a chunk's dot products are pair sums (PairSums), which
// kPairChunks chunks add up in int16 before one widening to int32: a lane
// then holds 4 x kPairChunks products of u4 (at most 15) and xq (at most 127
// in magnitude), 30480 < 2^15. The int16 adds are saturating ones, which
// never saturate within that bound but which gcc does not reassociate: with
// plain adds it summed a block's pair sums as a tree, computing all 32 first
// and spilling them (AVX2 has 16 vector registers). On AVX2 (Zen 3), against
// widening every chunk's pair sums, `kernels_bench BM_MatMul` n=128 ran
// 1.3-1.4x faster (g32 54-57 to 75-80 GMAC/s, g128 61-68 to 82-88; pinned,
// 4 rounds), and 1B prefill of 128 tokens at 8da4w g32 1.37x (96-106 to
// 136-140 tok/s, 3 pairs); the memory-bound GEMV the same.
constexpr int64_t kPairChunks = 4;

template <size_t kTiles, size_t kTokens, int64_t kChunks = 0>
HWY_INLINE void Q4Tile(const QuantProblem& p, int64_t tile, int64_t token) {
  constexpr size_t kVecs = kTiles * kVecsPerTile;
  const DU8 du8;
  const DI32 di32;
  const DF df;
  const hn::Rebind<hwy::float16_t, DF> dh;
  const int64_t groups = p.g.groups_per_row();
  const int64_t chunks_per_group = kChunks > 0 ? kChunks : p.g.group_size / 8;
  // Otherwise the loop unrolls by 32 columns, which every group size divides,
  // counting from 0 so that gcc sees the constant trip count. (Unrolled by 16
  // with a run-time count, g32's 4 chunks ran in the remainder loop: this
  // made `kernels_bench BM_MatMul` q4g32 n=128 1.14-1.25x faster and 1B
  // prefill of 128 tokens at 8da4w g32 1.12x. Counting from k0, gcc still
  // emitted the remainder switch in the GEMV; from 0, q4g32 n=1 ran 1.27x
  // faster from the cache, decode the same.)
  constexpr int64_t kUnroll = kChunks > 0 ? kChunks : 4;
  static_assert(kUnroll % kPairChunks == 0, "pair sums widen within an unrolled pass");
  const uint64_t tile_bytes = p.g.row_bytes * kTileRows;
  const uint64_t tile_scale_bytes = static_cast<uint64_t>(groups) * kTileRows * 2;
  const auto low_nibbles = hn::Set(du8, 0x0F);
  VF acc[kVecs][kTokens];
  for (size_t v = 0; v < kVecs; ++v) {
    for (size_t t = 0; t < kTokens; ++t) acc[v][t] = hn::Zero(df);
  }
  const uint8_t* w = p.blob + tile * tile_bytes;
  const uint8_t* scales = p.blob + p.g.scales_offset + tile * tile_scale_bytes;
  for (int64_t g = 0; g < groups; ++g) {
    PrefetchAhead<kTiles, kTokens>(scales, tile_scale_bytes, g * kTileRows * 2,
                                   kScalesPrefetchBytes);
    // The integer sums start at the token's correction where the group's
    // first chunk (VNNI) or first pair sums (elsewhere) are added, so no
    // register holds them before.
    VI32 sum[kVecs][kTokens];
    VI16 pairs[kVecs][kTokens];  // without VNNI: the pair sums of up to kPairChunks chunks
    const auto block = [&](int64_t k0, auto first_block) HWY_ATTR __attribute__((always_inline)) {
#pragma GCC unroll 16
      for (int64_t i = 0; i < kUnroll; ++i) {
        const int64_t k = k0 + i;
        PrefetchAhead<kTiles, kTokens>(w, tile_bytes, k * 64);
        VU8 low[kVecs], high[kVecs];
        for (size_t v = 0; v < kVecs; ++v) {
          const VU8 bytes = hn::LoadU(du8, w + VecOffset(v, tile_bytes, 4) + k * 64);
          low[v] = hn::And(bytes, low_nibbles);
          high[v] =
              hn::And(hn::BitCast(du8, hn::ShiftRight<4>(hn::BitCast(DU16(), bytes))), low_nibbles);
        }
        for (size_t t = 0; t < kTokens; ++t) {
          const int64_t tk = token + static_cast<int64_t>(t);
          const uint8_t* x = p.act + tk * p.g.padded_cols + k * 8;
          const VI8 x_low = BroadcastFour(DI8(), x);
          const VI8 x_high = BroadcastFour(DI8(), x + 4);
          for (size_t v = 0; v < kVecs; ++v) {
            const bool starts = first_block && i < (kDotBytesFullRange ? 1 : kPairChunks);
            if constexpr (kDotBytesFullRange) {
              const VI32 start = starts ? hn::Set(di32, p.corr[tk * p.corr_stride + g]) : sum[v][t];
              sum[v][t] = DotBytes(DotBytes(start, low[v], x_low), high[v], x_high);
            } else {
              const VI16 chunk =
                  hn::SaturatedAdd(PairSums(low[v], x_low), PairSums(high[v], x_high));
              pairs[v][t] = i % kPairChunks == 0 ? chunk : hn::SaturatedAdd(pairs[v][t], chunk);
              if (i % kPairChunks == kPairChunks - 1) {
                const VI32 start =
                    starts ? hn::Set(di32, p.corr[tk * p.corr_stride + g]) : sum[v][t];
                sum[v][t] = AddPairSums(start, pairs[v][t]);
              }
            }
          }
        }
      }
    };
    block(g * chunks_per_group, std::true_type());
    for (int64_t k0 = g * chunks_per_group + kUnroll; k0 < (g + 1) * chunks_per_group;
         k0 += kUnroll) {
      block(k0, std::false_type());
    }
    for (size_t v = 0; v < kVecs; ++v) {
      const auto* group_scales = reinterpret_cast<const hwy::float16_t*>(
          scales + VecOffset(v, tile_scale_bytes, 2) + g * kTileRows * 2);
      const VF scale = hn::PromoteTo(df, hn::LoadU(dh, group_scales));
      for (size_t t = 0; t < kTokens; ++t) {
        acc[v][t] = hn::MulAdd(hn::ConvertTo(df, sum[v][t]), scale, acc[v][t]);
      }
    }
  }
  for (size_t v = 0; v < kVecs; ++v) {
    const int64_t first_row = FirstRow(tile, v);
    const int64_t rows = std::min<int64_t>(kRowsPerVec, p.g.rows - first_row);
    for (size_t t = 0; t < kTokens; ++t) {
      HWY_ALIGN float lanes[kRowsPerVec];
      hn::Store(acc[v][t], df, lanes);
      for (int64_t i = 0; i < rows; ++i) {
        Store(p, token + static_cast<int64_t>(t), first_row + i, lanes[i]);
      }
    }
  }
}

// ---------------------------------------------------------------- tiling

// Register tiles, in row tiles x tokens: 2 row tiles (32 rows) on AVX-512,
// where a row tile is one vector (32 registers); one row tile of 2 or 4
// vectors elsewhere (16 registers on AVX2 and SSE). On AVX-512 the tokens
// fill the registers (kQ4Group: 2 x 6 integer sums, 2 x 6 f32 sums, the 4
// unpacked weight vectors and one token's 2 broadcast activations at a
// time; kQ8Row: 2 x 8 sums and 8 activations), so each loaded and unpacked
// weight vector meets as many tokens as it can. Against 3 tokens, 4 made
// `kernels_bench BM_MatMul` n=128 7-11% faster (q4), and 1B prefill of 128
// tokens 8% (8da4w g32); against 4, 8 tokens 4-10% (q8row) and 6-7% (int8).
// Unpacking all weight vectors before the tokens' broadcasts (rather than
// all 8 broadcasts first) made room for 6 q4 tokens: 1B prefill at 8da4w
// g128 412-417 to 434-435 tok/s, g32 within the noise.
constexpr size_t kGemmTiles = kVecsPerTile == 1 ? 2 : 1;
constexpr size_t kQ4Tokens = kVecsPerTile == 1 ? 6 : 4 / kVecsPerTile;
constexpr size_t kQ8Tokens = kVecsPerTile == 1 ? 8 : 4 / kVecsPerTile;

struct Q8Kernel {
  const QuantProblem& p;
  template <size_t kTiles, size_t kTokens>
  void Tile(int64_t tile, int64_t token) {
    Q8Tile<kTiles, kTokens>(p, tile, token);
  }
};

// GEMV of groups of 64 and 128 columns unrolls the whole group's loop. A
// group's dot products are one dependent chain (16 or 32 long), so the
// out-of-order window must hold the next group to overlap them; without the
// loop's counter and branch per chunk it holds more of it. Interleaved in
// one process over a decode-shaped stack, g128 ran 8% faster (0.925 of the
// time, fast memory phase) than with a loop per chunk. A g32 group is the
// 32-column unroll every tile has (1B decode paired against the loop per
// chunk: 1.008, 1.008).
struct Q4Kernel {
  const QuantProblem& p;
  template <size_t kTiles, size_t kTokens>
  void Tile(int64_t tile, int64_t token) {
    if constexpr (kTiles == 1 && kTokens == 1) {
      if (p.g.group_size == 64) return Q4Tile<1, 1, 8>(p, tile, token);
      if (p.g.group_size == 128) return Q4Tile<1, 1, 16>(p, tile, token);
    }
    Q4Tile<kTiles, kTokens>(p, tile, token);
  }
};

// The last `count` (< kTokens) tokens of a register tile.
template <size_t kTiles, size_t kTokens, class Kernel>
HWY_INLINE void TokenTail(Kernel& k, int64_t tile, int64_t token, int64_t count) {
  if constexpr (kTokens > 0) {
    if (count == static_cast<int64_t>(kTokens)) {
      return k.template Tile<kTiles, kTokens>(tile, token);
    }
    TokenTail<kTiles, kTokens - 1>(k, tile, token, count);
  }
}

// Tokens [begin, end) of one register tile's rows.
template <size_t kTiles, size_t kTokens, class Kernel>
HWY_INLINE void RowTile(Kernel& k, int64_t tile, int64_t begin, int64_t end) {
  int64_t t = begin;
  for (; t + static_cast<int64_t>(kTokens) <= end; t += kTokens) {
    k.template Tile<kTiles, kTokens>(tile, t);
  }
  TokenTail<kTiles, kTokens - 1>(k, tile, t, end - t);
}

// Prepared activations of one token block stay in L2 while every row tile
// of the thread's rows passes over them.
constexpr int64_t kActivationBlockBytes = 768 * 1024;

// Row tiles [begin, end) for all tokens: kTiles at a time, then one at a
// time, per block of tokens. One token (GEMV) reads one tile at a time: a
// thread's tiles are then one contiguous stream (two streams at once
// measured slower).
template <size_t kTokens, class Kernel>
void RunTiles(Kernel& k, int64_t n, int64_t begin, int64_t end) {
  if (n == 1) {
    for (int64_t tile = begin; tile < end; ++tile) k.template Tile<1, 1>(tile, 0);
    return;
  }
  const int64_t token_bytes = k.p.g.padded_cols + k.p.corr_stride * 4;
  const int64_t block =
      std::max<int64_t>(1, kActivationBlockBytes / token_bytes / kTokens) * kTokens;
  for (int64_t tb = 0; tb < n; tb += block) {
    const int64_t te = std::min(n, tb + block);
    int64_t tile = begin;
    for (; tile + static_cast<int64_t>(kGemmTiles) <= end; tile += kGemmTiles) {
      RowTile<kGemmTiles, kTokens>(k, tile, tb, te);
    }
    for (; tile < end; ++tile) RowTile<1, kTokens>(k, tile, tb, te);
  }
}

void Q8Tiles(const QuantProblem& p, int64_t begin, int64_t end) {
  Q8Kernel k{p};
  RunTiles<kQ8Tokens>(k, p.args.n, begin, end);
}

void Q4Tiles(const QuantProblem& p, int64_t begin, int64_t end) {
  Q4Kernel k{p};
  RunTiles<kQ4Tokens>(k, p.args.n, begin, end);
}

// VNNI's kQ8Row activations: xq + 128 as u8 (flipping the sign bit).
void ToUnsigned(uint8_t* bytes, int64_t count) {
  const DU8 du8;
  for (int64_t i = 0; i < count; i += kVecBytes) {
    hn::StoreU(hn::Xor(hn::LoadU(du8, bytes + i), hn::Set(du8, 0x80)), du8, bytes + i);
  }
}

#endif  // HWY_TARGET != HWY_SCALAR

}  // namespace

void MatMulQuantizedTarget(std::span<const MatMulJob> jobs, ThreadPool* pool) {
  // The jobs share x and their weights' columns: one quantization serves all.
  const MatrixView& w = jobs[0].w;
  const MatMulArgs& a = jobs[0].args;
  const PackedGeometry g = PackedGeometryFor(w.layout, w.rows, w.cols, w.group_size).value();
  const bool q4 = w.layout == WeightLayout::kQ4Group;
  const int64_t corr_stride = q4 ? g.groups_per_row() : 0;
  // One buffer: sx per token, then the activation bytes, then the corrections.
  const int64_t sx_bytes = hwy::RoundUpTo(a.n * sizeof(float), 64);
  const int64_t act_bytes = a.n * g.padded_cols;
  thread_local Scratch scratch;
  uint8_t* buffer = scratch.Get<uint8_t>(sx_bytes + act_bytes + a.n * corr_stride * 4);
  auto* sx = reinterpret_cast<float*>(buffer);
  uint8_t* act = buffer + sx_bytes;
  auto* corr = reinterpret_cast<int32_t*>(act + act_bytes);
  ParallelFor(pool, a.n, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      auto* xq = reinterpret_cast<int8_t*>(act + t * g.padded_cols);
      sx[t] = QuantizeInt8Row(a.x + t * a.x_stride, w.cols, g.padded_cols, xq);
      if (q4) {
        PrepareQ4Corrections(xq, g.padded_cols, g.group_size, corr + t * corr_stride);
      } else if (kQ8Unsigned) {
        ToUnsigned(act + t * g.padded_cols, g.padded_cols);
      }
    }
  });
  std::vector<QuantProblem> problems;
  std::vector<int64_t> offsets{0};  // first tile of each job
  for (const MatMulJob& job : jobs) {
    const PackedGeometry jg =
        PackedGeometryFor(job.w.layout, job.w.rows, job.w.cols, job.w.group_size).value();
    problems.push_back(
        {jg, static_cast<const uint8_t*>(job.w.data), job.args, act, corr, corr_stride, sx});
    offsets.push_back(offsets.back() + jg.padded_rows / kTileRows);
  }
  // Whole tiles of 16 rows keep each thread's output cache lines to itself.
  ParallelFor(pool, offsets.back(), [&](int64_t begin, int64_t end) {
    RunPrologues(jobs);
    ForEachPart(offsets, begin, end, [&](size_t m, int64_t first_tile, int64_t last_tile) {
      const QuantProblem& p = problems[m];
      q4 ? Q4Tiles(p, first_tile, last_tile) : Q8Tiles(p, first_tile, last_tile);
      const int64_t first = first_tile * kTileRows;
      const int64_t last = std::min(p.g.rows, last_tile * kTileRows);
      if (first < last) RowsDone(p.args, first, last);
    });
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace lorashare
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lorashare {

HWY_EXPORT(MatMulQuantizedTarget);

void MatMulQuantized(std::span<const MatMulJob> jobs, ThreadPool* pool) {
  HWY_DYNAMIC_DISPATCH(MatMulQuantizedTarget)(jobs, pool);
}

}  // namespace lorashare
#endif  // HWY_ONCE

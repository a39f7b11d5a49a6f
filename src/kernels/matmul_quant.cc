// Quantized MatMul kernels. Per call, every token's activations are quantized
// once (kernels/quantize.h) into a reused per-thread buffer together with what
// the integer dot products need; then output rows are split across the pool.
//
// Integer core: DotBytes adds, per 32-bit lane, the sum of four u8 x s8
// products of the bytes at that lane's offset (VNNI's dpbusd). Elsewhere it
// pairs products in int16 first (maddubs + madd on x86, shifts and multiplies
// in generic Highway code), so pairs must stay below 2^15:
//   kQ4Group: u4 (0..15) x xq; the -8 offset is the per-lane correction
//             -8 * (sum of the lane's four xq), precomputed per token and
//             used as the initial value of each group's integer sum.
//   kQ8Row:   VNNI: (xq + 128) x q, minus 128 * row_sum at the end;
//             otherwise |q| x (xq * sign(q)), which keeps pairs in int16.
// kQ4Group converts each group's (or vector's) integer sums to f32 and scales
// them there; kQ8Row keeps one integer sum per row and scales once.
//
// Tiles of kRows weight rows x kTokens tokens reuse every unpacked weight
// vector for all tokens of the tile (GEMM) and keep several independent
// weight streams in flight (GEMV).
#define HWY_WANT_AVX3_DL  // generate AVX-512 VNNI (dpbusd)
// Register tiles are arrays of vectors, which SVE's sizeless vector types
// cannot form; NEON serves aarch64.
#define HWY_DISABLED_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#include "kernels/matmul_quant.h"

#include <algorithm>
#include <cstring>

#include "hwy/aligned_allocator.h"
#include "hwy/cache_control.h"
#include "kernels/half.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matmul_quant.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#ifndef LORASHARE_KERNELS_MATMUL_QUANT_ONCE
#define LORASHARE_KERNELS_MATMUL_QUANT_ONCE
namespace lorashare {
namespace {

// A growing per-thread scratch area: allocated once, reused by every call.
class Scratch {
 public:
  template <typename T>
  T* Get(size_t count) {
    const size_t bytes = count * sizeof(T);
    if (bytes > capacity_) {
      memory_ = hwy::AllocateAligned<uint8_t>(bytes);
      capacity_ = bytes;
    }
    return reinterpret_cast<T*>(memory_.get());
  }

 private:
  hwy::AlignedFreeUniquePtr<uint8_t[]> memory_;
  size_t capacity_ = 0;
};

// What every kernel reads: the packed weights and the prepared activations.
struct QuantProblem {
  PackedGeometry g;
  const uint8_t* blob;
  MatMulArgs args;
  const uint8_t* act;   // per token: padded_cols bytes (xq, or xq + 128 on VNNI for kQ8Row)
  const int32_t* corr;  // kQ4Group: per token, corr_stride lanes of -8 * lane sums
  int64_t corr_stride;
  const float* sx;  // per token
};

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

// Quantizes one token exactly as QuantizeActivationRow does (same float
// operations, so the same xq): returns sx.
float QuantizeToken(const float* HWY_RESTRICT x, int64_t cols, int64_t padded_cols,
                    int8_t* HWY_RESTRICT xq) {
  const hn::ScalableTag<float> df;
  const hn::Rebind<int32_t, decltype(df)> di32;
  const hn::Rebind<int8_t, decltype(df)> di8;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  auto vmax = hn::Zero(df);
  int64_t c = 0;
  for (; c + lanes <= cols; c += lanes) vmax = hn::Max(vmax, hn::Abs(hn::LoadU(df, x + c)));
  float amax = hn::GetLane(hn::MaxOfLanes(df, vmax));
  for (int64_t i = c; i < cols; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float sx = amax / 127.0f;
  const float inv = sx != 0 ? 1.0f / sx : 0.0f;
  const auto vinv = hn::Set(df, inv);
  const auto lo = hn::Set(di32, -127), hi = hn::Set(di32, 127);
  for (c = 0; c + lanes <= cols; c += lanes) {
    const auto q = hn::NearestInt(hn::Mul(hn::LoadU(df, x + c), vinv));
    hn::StoreU(hn::DemoteTo(di8, hn::Min(hn::Max(q, lo), hi)), di8, xq + c);
  }
  for (; c < cols; ++c) {
    xq[c] = static_cast<int8_t>(std::clamp(std::nearbyint(x[c] * inv), -127.0f, 127.0f));
  }
  std::fill(xq + cols, xq + padded_cols, int8_t{0});
  return sx;
}

#if HWY_TARGET == HWY_SCALAR

// One lane per vector: plain integer loops over the prepared xq.
void Q8Rows(const QuantProblem& p, int64_t row_begin, int64_t row_end) {
  for (int64_t r = row_begin; r < row_end; ++r) {
    const auto* q = reinterpret_cast<const int8_t*>(p.blob + r * p.g.row_bytes);
    float scale;
    std::memcpy(&scale, p.blob + p.g.scales_offset + r * sizeof(float), sizeof(float));
    for (int64_t t = 0; t < p.args.n; ++t) {
      const auto* xq = reinterpret_cast<const int8_t*>(p.act + t * p.g.padded_cols);
      int32_t sum = 0;
      for (int64_t c = 0; c < p.g.padded_cols; ++c) sum += q[c] * xq[c];
      Store(p, t, r, static_cast<double>(scale) * sum);
    }
  }
}

void Q4Rows(const QuantProblem& p, int64_t row_begin, int64_t row_end) {
  const int64_t group = p.g.group_size;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const uint8_t* row = p.blob + r * p.g.row_bytes;
    const auto* scales =
        reinterpret_cast<const uint16_t*>(p.blob + p.g.scales_offset) + r * p.g.groups_per_row();
    for (int64_t t = 0; t < p.args.n; ++t) {
      const auto* xq = reinterpret_cast<const int8_t*>(p.act + t * p.g.padded_cols);
      float sum = 0;
      for (int64_t g = 0; g < p.g.groups_per_row(); ++g) {
        int32_t isum = 0;
        for (int64_t c = g * group; c < (g + 1) * group; ++c) {
          const uint8_t byte = row[c / kQuantBlock * (kQuantBlock / 2) + c % (kQuantBlock / 2)];
          isum += ((c % kQuantBlock < kQuantBlock / 2 ? byte & 0xF : byte >> 4) - 8) * xq[c];
        }
        sum += F16ToF32(scales[g]) * static_cast<float>(isum);
      }
      Store(p, t, r, sum);
    }
  }
}

constexpr bool kQ8Unsigned = false;
constexpr int64_t kCorrLanesPerBlock = 0;
void PrepareQ4Corrections(const int8_t*, int64_t, int64_t, int32_t*) {}
void ToUnsigned(uint8_t*, int64_t) {}

#else  // HWY_TARGET != HWY_SCALAR

// x86 targets use whole vectors; elsewhere (NEON, SVE, ...) 16 bytes.
#if HWY_ARCH_X86
using DU8 = hn::ScalableTag<uint8_t>;
#else
using DU8 = hn::FixedTag<uint8_t, 16>;
#endif
using DI8 = hn::Repartition<int8_t, DU8>;
using DU16 = hn::Repartition<uint16_t, DU8>;
using DI16 = hn::Repartition<int16_t, DU8>;
using DI32 = hn::Repartition<int32_t, DU8>;
using DF = hn::Repartition<float, DU8>;
using VU8 = hn::Vec<DU8>;
using VI8 = hn::Vec<DI8>;
using VI32 = hn::Vec<DI32>;
using VF = hn::Vec<DF>;

constexpr int64_t kVecBytes = static_cast<int64_t>(hn::MaxLanes(DU8()));
constexpr int64_t kHalfBlock = kQuantBlock / 2;  // bytes of nibbles per block
static_assert(kHalfBlock % kVecBytes == 0, "vectors must tile a block");

constexpr bool kQ8Unsigned = HWY_TARGET == HWY_AVX3_DL;

// acc[i] += sum_{j < 4} u[4i + j] * s[4i + j] (see the file comment).
HWY_INLINE VI32 DotBytes(VI32 acc, VU8 u, VI8 s) {
#if HWY_TARGET == HWY_AVX3_DL
  // vpdpbusd in assembly: Highway 1.0.3's AVX3_DL target string enables
  // avxvnni but not avx512vnni, so the intrinsic would not compile here.
  __asm__("vpdpbusd %[s], %[u], %[acc]" : [acc] "+v"(acc.raw) : [u] "v"(u.raw), [s] "v"(s.raw));
  return acc;
#elif HWY_TARGET == HWY_AVX3
  return hn::Add(acc,
                 VI32{_mm512_madd_epi16(_mm512_maddubs_epi16(u.raw, s.raw), _mm512_set1_epi16(1))});
#elif HWY_TARGET == HWY_AVX2
  return hn::Add(acc,
                 VI32{_mm256_madd_epi16(_mm256_maddubs_epi16(u.raw, s.raw), _mm256_set1_epi16(1))});
#elif HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
  return hn::Add(acc, VI32{_mm_madd_epi16(_mm_maddubs_epi16(u.raw, s.raw), _mm_set1_epi16(1))});
#else
  const DI16 di16;
  const DI32 di32;
  const auto u16 = hn::BitCast(di16, u);
  const auto s16 = hn::BitCast(di16, s);
  const auto u_even = hn::And(u16, hn::Set(di16, 0xFF));
  const auto u_odd = hn::BitCast(di16, hn::ShiftRight<8>(hn::BitCast(DU16(), u)));
  const auto s_even = hn::ShiftRight<8>(hn::ShiftLeft<8>(s16));
  const auto s_odd = hn::ShiftRight<8>(s16);
  const auto pairs = hn::BitCast(di32, hn::Add(hn::Mul(u_even, s_even), hn::Mul(u_odd, s_odd)));
  return hn::Add(acc,
                 hn::Add(hn::ShiftRight<16>(hn::ShiftLeft<16>(pairs)), hn::ShiftRight<16>(pairs)));
#endif
}

// x * sign(q), 0 where q is 0.
HWY_INLINE VI8 ApplySign(VI8 x, VI8 q) {
#if HWY_TARGET == HWY_AVX2
  return VI8{_mm256_sign_epi8(x.raw, q.raw)};
#elif HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
  return VI8{_mm_sign_epi8(x.raw, q.raw)};
#else
  return hn::IfThenElse(hn::Lt(q, hn::Zero(DI8())), hn::Neg(x), x);
#endif
}

// GEMV streams the weights once, kRows rows at a time; rows are contiguous,
// so a tile is a few pages read as kRows interleaved streams, which the
// hardware prefetchers (stopping at page boundaries) ramp up on too late.
// While the tile reads byte `offset` of its rows, fetch the same bytes of the
// next tile's rows: one tile of lookahead, at the rate of consumption.
template <size_t kRows, size_t kTokens>
HWY_INLINE void PrefetchNextTile(const uint8_t* tile, uint64_t row_bytes, int64_t offset) {
  if constexpr (kTokens == 1) {
    for (size_t r = 0; r < kRows; ++r) {
      for (int64_t line = 0; line < kVecBytes; line += 64) {
        hwy::Prefetch(tile + (kRows + r) * row_bytes + offset + line);
      }
    }
  }
}

// ---------------------------------------------------------------- kQ8Row

template <size_t kRows, size_t kTokens>
HWY_INLINE void Q8Tile(const QuantProblem& p, int64_t row, int64_t token) {
  const DU8 du8;
  const DI8 di8;
  const DI32 di32;
  VI32 acc[kRows][kTokens];
  for (size_t r = 0; r < kRows; ++r) {
    for (size_t t = 0; t < kTokens; ++t) acc[r][t] = hn::Zero(di32);
  }
  const uint8_t* w = p.blob + row * p.g.row_bytes;
  const uint8_t* x = p.act + token * p.g.padded_cols;
  for (int64_t c = 0; c < p.g.padded_cols; c += kVecBytes) {
    PrefetchNextTile<kRows, kTokens>(w, p.g.row_bytes, c);
    VI8 xv[kTokens];
    for (size_t t = 0; t < kTokens; ++t)
      xv[t] = hn::LoadU(di8, reinterpret_cast<const int8_t*>(x + t * p.g.padded_cols + c));
    for (size_t r = 0; r < kRows; ++r) {
      const VI8 q = hn::LoadU(di8, reinterpret_cast<const int8_t*>(w + r * p.g.row_bytes + c));
      if constexpr (kQ8Unsigned) {
        for (size_t t = 0; t < kTokens; ++t)
          acc[r][t] = DotBytes(acc[r][t], hn::BitCast(du8, xv[t]), q);
      } else {
        const VU8 abs_q = hn::BitCast(du8, hn::Abs(q));
        for (size_t t = 0; t < kTokens; ++t)
          acc[r][t] = DotBytes(acc[r][t], abs_q, ApplySign(xv[t], q));
      }
    }
  }
  for (size_t r = 0; r < kRows; ++r) {
    const int64_t rr = row + static_cast<int64_t>(r);
    float scale;
    std::memcpy(&scale, p.blob + p.g.scales_offset + rr * sizeof(float), sizeof(float));
    int32_t offset = 0;
    if constexpr (kQ8Unsigned) {
      std::memcpy(&offset, p.blob + p.g.sums_offset + rr * sizeof(int32_t), sizeof(int32_t));
      offset *= 128;
    }
    for (size_t t = 0; t < kTokens; ++t) {
      const int32_t sum = hn::GetLane(hn::SumOfLanes(di32, acc[r][t])) - offset;
      Store(p, token + static_cast<int64_t>(t), rr, static_cast<double>(scale) * sum);
    }
  }
}

// ---------------------------------------------------------------- kQ4Group

// A block's 128 columns are processed in units: the columns whose integer
// sums share one f32 conversion. With groups of 128 a unit is the whole block
// (both nibble halves); otherwise a contiguous run of max(group, vector)
// columns inside one half (two groups per vector only for AVX-512 and 32).
template <int64_t kGroup>
struct Q4Units {
  static constexpr bool kWholeBlock = kGroup == kQuantBlock;
  static constexpr int64_t kCols = kWholeBlock ? kQuantBlock : std::max(kGroup, kVecBytes);
  static constexpr int64_t kPerBlock = kQuantBlock / kCols;
  // (nibble half, vector) steps per unit.
  static constexpr int64_t kSteps = kWholeBlock ? 2 * kHalfBlock / kVecBytes : kCols / kVecBytes;
  static constexpr bool kTwoGroupsPerVector = kVecBytes > kGroup;

  // Half (0 = low nibbles) and byte offset within the block of step s of unit u.
  static constexpr int64_t Half(int64_t u, int64_t s) {
    return kWholeBlock ? s % 2 : u / (kPerBlock / 2);
  }
  static constexpr int64_t Offset(int64_t u, int64_t s) {
    return kWholeBlock ? s / 2 * kVecBytes : (u % (kPerBlock / 2)) * kCols + s * kVecBytes;
  }
  // The unit's first group within its row.
  static constexpr int64_t FirstGroup(int64_t block, int64_t u) {
    return (block * kQuantBlock + Half(u, 0) * kHalfBlock + Offset(u, 0)) / kGroup;
  }
};

// The lanes of every corrections vector of a token, per block.
template <int64_t kGroup>
constexpr int64_t CorrLanesPerBlock() {
  return Q4Units<kGroup>::kPerBlock * static_cast<int64_t>(hn::MaxLanes(DI32()));
}
constexpr int64_t kCorrLanesPerBlock = CorrLanesPerBlock<32>();  // the most of any group size

// Per unit of every block: -8 * (sum of each lane's four xq), summed over the
// unit's steps: the initial integer sum that turns u4 into u4 - 8.
template <int64_t kGroup>
void PrepareQ4CorrectionsFor(const int8_t* xq, int64_t padded_cols, int32_t* corr) {
  using U = Q4Units<kGroup>;
  const DU8 du8;
  const DI8 di8;
  const DI32 di32;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(di32));
  for (int64_t b = 0; b < padded_cols / kQuantBlock; ++b) {
    for (int64_t u = 0; u < U::kPerBlock; ++u) {
      VI32 acc = hn::Zero(di32);
      for (int64_t s = 0; s < U::kSteps; ++s) {
        const int8_t* x = xq + b * kQuantBlock + U::Half(u, s) * kHalfBlock + U::Offset(u, s);
        acc = DotBytes(acc, hn::Set(du8, 8), hn::LoadU(di8, x));
      }
      hn::StoreU(hn::Neg(acc), di32, corr + (b * U::kPerBlock + u) * lanes);
    }
  }
}

void PrepareQ4Corrections(const int8_t* xq, int64_t padded_cols, int64_t group, int32_t* corr) {
  if (group == 32) return PrepareQ4CorrectionsFor<32>(xq, padded_cols, corr);
  if (group == 64) return PrepareQ4CorrectionsFor<64>(xq, padded_cols, corr);
  return PrepareQ4CorrectionsFor<128>(xq, padded_cols, corr);
}

// f16 scales to f32 (hardware conversion where the target has it).
void ConvertScales(const uint8_t* f16, int64_t count, float* out) {
  const DF df;
  const hn::Rebind<hwy::float16_t, DF> dh;
  const auto* in = reinterpret_cast<const hwy::float16_t*>(f16);
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t i = 0;
  for (; i + lanes <= count; i += lanes)
    hn::StoreU(hn::PromoteTo(df, hn::LoadU(dh, in + i)), df, out + i);
  for (; i < count; ++i) {
    uint16_t bits;
    std::memcpy(&bits, f16 + 2 * i, 2);
    out[i] = F16ToF32(bits);
  }
}

// The f32 scale of every lane of a unit starting at `group`.
template <int64_t kGroup>
HWY_INLINE VF UnitScale(const float* scales, int64_t group) {
  const DF df;
  if constexpr (Q4Units<kGroup>::kTwoGroupsPerVector) {
    const hn::Half<DF> dh;
    return hn::Combine(df, hn::Set(dh, scales[group + 1]), hn::Set(dh, scales[group]));
  } else {
    return hn::Set(df, scales[group]);
  }
}

// `scales` holds the f32 scales of rows [row, row + kRows), groups_per_row apart.
template <int64_t kGroup, size_t kRows, size_t kTokens>
HWY_INLINE void Q4Tile(const QuantProblem& p, const float* scales, int64_t row, int64_t token) {
  using U = Q4Units<kGroup>;
  const DU8 du8;
  const DI8 di8;
  const DI32 di32;
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(di32));
  const int64_t groups = p.g.groups_per_row();
  const auto low_nibbles = hn::Set(du8, 0x0F);
  VF acc[kRows][kTokens];
  for (size_t r = 0; r < kRows; ++r) {
    for (size_t t = 0; t < kTokens; ++t) acc[r][t] = hn::Zero(df);
  }
  const uint8_t* w = p.blob + row * p.g.row_bytes;
  const auto* x = reinterpret_cast<const int8_t*>(p.act + token * p.g.padded_cols);
  const int32_t* corr = p.corr + token * p.corr_stride;
  for (int64_t b = 0; b < p.g.padded_cols / kQuantBlock; ++b) {
    PrefetchNextTile<kRows, kTokens>(w, p.g.row_bytes, b * kHalfBlock);
    for (int64_t u = 0; u < U::kPerBlock; ++u) {
      VI32 sum[kRows][kTokens];
      for (size_t t = 0; t < kTokens; ++t) {
        const VI32 c = hn::LoadU(di32, corr + t * p.corr_stride + (b * U::kPerBlock + u) * lanes);
        for (size_t r = 0; r < kRows; ++r) sum[r][t] = c;
      }
      for (int64_t s = 0; s < U::kSteps; ++s) {
        const int64_t half = U::Half(u, s), offset = U::Offset(u, s);
        VI8 xv[kTokens];
        for (size_t t = 0; t < kTokens; ++t) {
          xv[t] = hn::LoadU(di8,
                            x + t * p.g.padded_cols + b * kQuantBlock + half * kHalfBlock + offset);
        }
        for (size_t r = 0; r < kRows; ++r) {
          const VU8 bytes = hn::LoadU(du8, w + r * p.g.row_bytes + b * kHalfBlock + offset);
          const VU8 nibbles =
              half == 0 ? hn::And(bytes, low_nibbles)
                        : hn::And(hn::BitCast(du8, hn::ShiftRight<4>(hn::BitCast(DU16(), bytes))),
                                  low_nibbles);
          for (size_t t = 0; t < kTokens; ++t) sum[r][t] = DotBytes(sum[r][t], nibbles, xv[t]);
        }
      }
      const int64_t group = U::FirstGroup(b, u);
      for (size_t r = 0; r < kRows; ++r) {
        const VF scale = UnitScale<kGroup>(scales + r * groups, group);
        for (size_t t = 0; t < kTokens; ++t) {
          acc[r][t] = hn::MulAdd(hn::ConvertTo(df, sum[r][t]), scale, acc[r][t]);
        }
      }
    }
  }
  for (size_t r = 0; r < kRows; ++r) {
    for (size_t t = 0; t < kTokens; ++t) {
      Store(p, token + static_cast<int64_t>(t), row + static_cast<int64_t>(r),
            hn::GetLane(hn::SumOfLanes(df, acc[r][t])));
    }
  }
}

// ---------------------------------------------------------------- tiling

// Register tiles: AVX-512 has 32 vector registers, the others 16.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
constexpr size_t kQ4Rows = 4, kQ4Tokens = 3, kQ8Rows = 4, kQ8Tokens = 4;
#else
constexpr size_t kQ4Rows = 2, kQ4Tokens = 2, kQ8Rows = 2, kQ8Tokens = 3;
#endif
constexpr size_t kGemvRows = 4;  // independent weight streams for one token

struct Q8Kernel {
  const QuantProblem& p;
  void PrepareRows(int64_t, int64_t) {}
  template <size_t kRows, size_t kTokens>
  void Tile(int64_t row, int64_t token) {
    Q8Tile<kRows, kTokens>(p, row, token);
  }
};

template <int64_t kGroup>
struct Q4Kernel {
  const QuantProblem& p;
  float* scales;  // room for the scales of the widest row tile
  void PrepareRows(int64_t row, int64_t rows) {
    const int64_t groups = p.g.groups_per_row();
    const uint8_t* tile_scales = p.blob + p.g.scales_offset + row * groups * 2;
    ConvertScales(tile_scales, rows * groups, scales);
    // The next tile's scales, for GEMV's stream (see PrefetchNextTile).
    for (int64_t i = 0; i < rows * groups * 2; i += 64) {
      hwy::Prefetch(tile_scales + rows * groups * 2 + i);
    }
  }
  template <size_t kRows, size_t kTokens>
  void Tile(int64_t row, int64_t token) {
    Q4Tile<kGroup, kRows, kTokens>(p, scales, row, token);
  }
};

// The last `count` (< kTokens) tokens of a row tile.
template <size_t kRows, size_t kTokens, class Kernel>
HWY_INLINE void TokenTail(Kernel& k, int64_t row, int64_t token, int64_t count) {
  if constexpr (kTokens > 0) {
    if (count == static_cast<int64_t>(kTokens)) return k.template Tile<kRows, kTokens>(row, token);
    TokenTail<kRows, kTokens - 1>(k, row, token, count);
  }
}

// Tokens [begin, end) of one row tile.
template <size_t kRows, size_t kTokens, class Kernel>
HWY_INLINE void RowTile(Kernel& k, int64_t row, int64_t begin, int64_t end) {
  k.PrepareRows(row, kRows);
  int64_t t = begin;
  for (; t + static_cast<int64_t>(kTokens) <= end; t += kTokens) {
    k.template Tile<kRows, kTokens>(row, t);
  }
  TokenTail<kRows, kTokens - 1>(k, row, t, end - t);
}

// Prepared activations of one token block stay in L2 while every row tile
// of the thread's rows passes over them.
constexpr int64_t kActivationBlockBytes = 768 * 1024;

// Rows [begin, end) for all tokens: kRows at a time, then one at a time,
// per block of tokens.
template <size_t kRows, size_t kTokens, class Kernel>
void RunRows(Kernel& k, int64_t n, int64_t begin, int64_t end) {
  const int64_t token_bytes = k.p.g.padded_cols + k.p.corr_stride * 4;
  const int64_t block =
      std::max<int64_t>(1, kActivationBlockBytes / token_bytes / kTokens) * kTokens;
  for (int64_t tb = 0; tb < n; tb += block) {
    const int64_t te = std::min(n, tb + block);
    int64_t r = begin;
    for (; r + static_cast<int64_t>(kRows) <= end; r += kRows)
      RowTile<kRows, kTokens>(k, r, tb, te);
    for (; r < end; ++r) RowTile<1, kTokens>(k, r, tb, te);
  }
}

template <size_t kRows, size_t kTokens, class Kernel>
void RunRowsGemvOrGemm(Kernel& k, int64_t n, int64_t begin, int64_t end) {
  if (n == 1) return RunRows<kGemvRows, 1>(k, n, begin, end);
  RunRows<kRows, kTokens>(k, n, begin, end);
}

void Q8Rows(const QuantProblem& p, int64_t begin, int64_t end) {
  Q8Kernel k{p};
  RunRowsGemvOrGemm<kQ8Rows, kQ8Tokens>(k, p.args.n, begin, end);
}

template <int64_t kGroup>
void Q4RowsFor(const QuantProblem& p, int64_t begin, int64_t end) {
  thread_local Scratch scratch;
  Q4Kernel<kGroup> k{p, scratch.Get<float>(std::max(kQ4Rows, kGemvRows) * p.g.groups_per_row())};
  RunRowsGemvOrGemm<kQ4Rows, kQ4Tokens>(k, p.args.n, begin, end);
}

void Q4Rows(const QuantProblem& p, int64_t begin, int64_t end) {
  if (p.g.group_size == 32) return Q4RowsFor<32>(p, begin, end);
  if (p.g.group_size == 64) return Q4RowsFor<64>(p, begin, end);
  Q4RowsFor<128>(p, begin, end);
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

void MatMulQuantizedTarget(const MatrixView& w, const MatMulArgs& a, ThreadPool* pool) {
  const PackedGeometry g = PackedGeometryFor(w.layout, w.rows, w.cols, w.group_size).value();
  const bool q4 = w.layout == WeightLayout::kQ4Group;
  const int64_t corr_stride = q4 ? g.padded_cols / kQuantBlock * kCorrLanesPerBlock : 0;
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
      sx[t] = QuantizeToken(a.x + t * a.x_stride, w.cols, g.padded_cols, xq);
      if (q4) {
        PrepareQ4Corrections(xq, g.padded_cols, g.group_size, corr + t * corr_stride);
      } else if (kQ8Unsigned) {
        ToUnsigned(act + t * g.padded_cols, g.padded_cols);
      }
    }
  });
  const QuantProblem p{g, static_cast<const uint8_t*>(w.data), a, act, corr, corr_stride, sx};
  // Chunks of 16 rows keep whole tiles and each thread's output cache lines.
  ParallelFor(
      pool, w.rows,
      [&](int64_t begin, int64_t end) { q4 ? Q4Rows(p, begin, end) : Q8Rows(p, begin, end); }, 16);
}

}  // namespace HWY_NAMESPACE
}  // namespace lorashare
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lorashare {

HWY_EXPORT(MatMulQuantizedTarget);

void MatMulQuantized(const MatrixView& w, const MatMulArgs& args, ThreadPool* pool) {
  if (args.n <= 0 || w.rows <= 0) return;
  HWY_DYNAMIC_DISPATCH(MatMulQuantizedTarget)(w, args, pool);
}

}  // namespace lorashare
#endif  // HWY_ONCE

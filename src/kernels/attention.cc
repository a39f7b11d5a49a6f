#define HWY_WANT_AVX3_DL  // generate AVX-512 VNNI (dpbusd) for int8 keys
// Register tiles are arrays of vectors, which SVE's sizeless vector types
// cannot form; NEON serves aarch64. (Sanitizer builds define a list that
// includes these: CMakeLists.txt.)
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif
#include "kernels/attention.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/attention.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "kernels/quantize.h"
#include "kernels/scratch.h"
#include "kernels/simd-inl.h"

HWY_BEFORE_NAMESPACE();
namespace lorashare {
namespace HWY_NAMESPACE {
namespace {

// Query heads that share a kv head are computed together, up to kMaxHeads of
// a token, and in a prefill up to kMaxRows (heads of several tokens) at a
// time: each key and value vector is loaded (and widened from f16) once for
// all of them.
constexpr size_t kMaxHeads = 4;
constexpr size_t kMaxRows = 8;

// Accumulator chains a kernel keeps: half the registers, the rest hold the
// loaded keys or values and the broadcasts.
constexpr size_t kAccumulators = kVectorRegisters / 2;

// In decode the cache is cold (the weights streaming between two layers'
// attention evict it), and with the hardware prefetchers alone it arrived at
// a third to a half of the machine's stream rate. Reads prefetch this many
// positions ahead: the same key row one block on, the value row 64 rows on
// (8 KiB of an f16 cache at a head size of 64).
constexpr int64_t kPrefetchPositions = kKeyBlock;
static_assert(kPrefetchPositions % kKeyBlock == 0, "keys prefetch whole blocks ahead");

// Prefetches the cache lines of [p, p + bytes).
template <typename T>
HWY_INLINE void PrefetchLines(const T* p, size_t bytes) {
  for (size_t b = 0; b < bytes; b += 64) hwy::Prefetch(reinterpret_cast<const uint8_t*>(p) + b);
}

// Scores of H query heads against positions [j0, j0 + V * lanes) of one kv
// head's keys (blocked and transposed, see KeyIndex): each vector of scores
// accumulates over i by broadcasting q[i], with no horizontal sums, in H * V
// independent FMA chains. A vector of positions never straddles a block
// (kKeyBlock is a multiple of any f32 vector's lanes, up to 2048-bit
// vectors), so vector v reads from its own block's rows, and prefetches the
// same row of the next block.
template <size_t H, size_t V, typename T>
HWY_INLINE void ScoreTile(const float* const* HWY_RESTRICT q, const T* HWY_RESTRICT keys,
                          int64_t hd, int64_t j0, float scale, float* const* HWY_RESTRICT scores) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const T* rows[V];
  VF acc[H][V];
  for (size_t v = 0; v < V; ++v) {
    const int64_t j = j0 + static_cast<int64_t>(v) * lanes;
    rows[v] = keys + (j / kKeyBlock) * hd * kKeyBlock + j % kKeyBlock;
    for (size_t h = 0; h < H; ++h) acc[h][v] = hn::Zero(df);
  }
  for (int64_t i = 0; i < hd; ++i) {
    VF key[V];
    for (size_t v = 0; v < V; ++v) {
      if (v * lanes * sizeof(T) % 64 == 0) {
        hwy::Prefetch(rows[v] + (i + hd * (kPrefetchPositions / kKeyBlock)) * kKeyBlock);
      }
      key[v] = LoadF32(df, rows[v] + i * kKeyBlock);
    }
    for (size_t h = 0; h < H; ++h) {
      const VF qi = hn::Set(df, q[h][i]);
      for (size_t v = 0; v < V; ++v) acc[h][v] = hn::MulAdd(qi, key[v], acc[h][v]);
    }
  }
  const VF vscale = hn::Set(df, scale);
  for (size_t v = 0; v < V; ++v) {
    for (size_t h = 0; h < H; ++h) {
      hn::StoreU(hn::Mul(acc[h][v], vscale), df, scores[h] + j0 + v * lanes);
    }
  }
}

// Calls tile.template operator()<W>(j) over positions [*j, len): tiles of W
// = V vectors while they fill one, then of V/2, ..., then single vectors
// (the last may run past len).
template <size_t V, class Tile>
HWY_INLINE void ForEachScoreTile(int64_t* j, int64_t len, const Tile& tile) {
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(DF()));
  if constexpr (V > 1) {
    for (; *j + static_cast<int64_t>(V) * lanes <= len; *j += static_cast<int64_t>(V) * lanes) {
      tile.template operator()<V>(*j);
    }
    ForEachScoreTile<V / 2>(j, len, tile);
  } else {
    for (; *j < len; *j += lanes) tile.template operator()<1>(*j);
  }
}

// Tiles of kAccumulators / H vectors.
template <size_t H, class Tile>
HWY_INLINE void ForEachScoreTile(int64_t len, const Tile& tile) {
  int64_t j = 0;
  ForEachScoreTile<kAccumulators / H>(&j, len, tile);
}

// scores[h][j] = q[h] . key j * scale for j in [0, len) of f32 or f16 keys;
// positions up to the next multiple of the lanes get scores too (of zeroed
// or stale keys, finite).
template <size_t H, typename T>
HWY_INLINE void KeyScores(const float* const* HWY_RESTRICT q, const T* HWY_RESTRICT keys,
                          int64_t hd, int64_t len, float scale, float* const* HWY_RESTRICT scores) {
  ForEachScoreTile<H>(
      len, [&]<size_t V>(int64_t j) HWY_ATTR { ScoreTile<H, V>(q, keys, hd, j, scale, scores); });
}

// Query heads quantized for int8 keys (attention.h): bytes[h] holds head h's
// q8, padded with zeros to whole groups of four; score_scale[h] = s_q *
// 1/sqrt(head_dim); offset[h] is what DotBytes' unsigned keys add to the
// integer sum (VNNI: keys + 128, so 128 * sum(q8); elsewhere 0).
template <size_t H>
struct QuantizedQueries {
  const int8_t* bytes[H];
  float score_scale[H];
  int32_t offset[H];
};

#if HWY_TARGET == HWY_SCALAR
// One position per vector: plain integer dot products.
template <size_t H, size_t V>
HWY_INLINE void ScoreTileInt8(const QuantizedQueries<H>& q, const int8_t* HWY_RESTRICT keys,
                              const float* HWY_RESTRICT key_scales, int64_t groups, int64_t j0,
                              float* const* HWY_RESTRICT scores) {
  for (int64_t j = j0; j < j0 + static_cast<int64_t>(V); ++j) {
    const int8_t* key = keys + (j / kKeyBlock * groups * kKeyBlock + j % kKeyBlock) * 4;
    for (size_t h = 0; h < H; ++h) {
      int32_t sum = 0;
      for (int64_t e = 0; e < groups * 4; ++e)
        sum += q.bytes[h][e] * key[e / 4 * kKeyBlock * 4 + e % 4];
      scores[h][j] = static_cast<float>(sum) * q.score_scale[h] * key_scales[j];
    }
  }
}
#else
// ScoreTile for int8 keys: a 32-bit lane per position holds four of its
// elements ([groups, kKeyBlock, 4] per block), so one DotBytes with four
// broadcast query bytes adds four products to every position's sum. VNNI
// takes the keys as unsigned (+128, flipping the sign bit); elsewhere |k|
// meets q * sign(k), which keeps maddubs' pairs in int16.
template <size_t H, size_t V>
HWY_INLINE void ScoreTileInt8(const QuantizedQueries<H>& q, const int8_t* HWY_RESTRICT keys,
                              const float* HWY_RESTRICT key_scales, int64_t groups, int64_t j0,
                              float* const* HWY_RESTRICT scores) {
  const DF df;
  const hn::Repartition<int32_t, DF> di32;
  const hn::Repartition<int8_t, DF> di8;
  const hn::Repartition<uint8_t, DF> du8;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const int64_t block_bytes = groups * kKeyBlock * 4;
  const int8_t* rows[V];
  hn::Vec<decltype(di32)> acc[H][V];
  for (size_t v = 0; v < V; ++v) {
    const int64_t j = j0 + static_cast<int64_t>(v) * lanes;
    rows[v] = keys + j / kKeyBlock * block_bytes + j % kKeyBlock * 4;
    for (size_t h = 0; h < H; ++h) acc[h][v] = hn::Zero(di32);
  }
  for (int64_t g = 0; g < groups; ++g) {
    hn::Vec<decltype(di8)> key[V];
    for (size_t v = 0; v < V; ++v) {
      const int8_t* row = rows[v] + g * kKeyBlock * 4;
      if (v * lanes * 4 % 64 == 0)
        hwy::Prefetch(row + block_bytes * (kPrefetchPositions / kKeyBlock));
      key[v] = hn::LoadU(di8, row);
    }
    for (size_t h = 0; h < H; ++h) {
      const auto q4 = BroadcastFour(di8, q.bytes[h] + 4 * g);
      for (size_t v = 0; v < V; ++v) {
        if constexpr (kDotBytesFullRange) {
          const auto unsigned_key = hn::BitCast(du8, hn::Xor(key[v], hn::Set(di8, -128)));
          acc[h][v] = DotBytes(acc[h][v], unsigned_key, q4);
        } else {
          acc[h][v] = DotBytes(acc[h][v], hn::BitCast(du8, hn::Abs(key[v])), ApplySign(q4, key[v]));
        }
      }
    }
  }
  for (size_t v = 0; v < V; ++v) {
    const VF key_scale = hn::LoadU(df, key_scales + j0 + static_cast<int64_t>(v) * lanes);
    for (size_t h = 0; h < H; ++h) {
      const VF sum = hn::ConvertTo(df, hn::Sub(acc[h][v], hn::Set(di32, q.offset[h])));
      hn::StoreU(hn::Mul(hn::Mul(sum, hn::Set(df, q.score_scale[h])), key_scale), df,
                 scores[h] + j0 + static_cast<int64_t>(v) * lanes);
    }
  }
}
#endif

// KeyScores over int8 keys, for the quantized heads `q`.
template <size_t H>
HWY_INLINE void KeyScoresInt8(const QuantizedQueries<H>& q, const int8_t* HWY_RESTRICT keys,
                              const float* HWY_RESTRICT key_scales, int64_t hd, int64_t len,
                              float* const* HWY_RESTRICT scores) {
  const int64_t groups = KvKeyDim(DType::kI8, hd) / 4;
  ForEachScoreTile<H>(len, [&]<size_t V>(int64_t j) HWY_ATTR {
    ScoreTileInt8<H, V>(q, keys, key_scales, groups, j, scores);
  });
}

// out[h][0, V * lanes) = sum_s weights[h][s] * rows[s][0, V * lanes), rows of
// `stride` elements, for H heads: each row vector is loaded once for all of
// them. One head keeps two sets of accumulators (even and odd rows), so the
// loop is loads and FMAs in at least 2 * V independent chains.
template <size_t H, size_t V, typename T>
HWY_INLINE void WeightedRowBlock(const float* const* HWY_RESTRICT weights,
                                 const T* HWY_RESTRICT rows, int64_t len, int64_t stride,
                                 float* const* HWY_RESTRICT out) {
  constexpr size_t kSplit = H == 1 ? 2 : 1;
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  VF acc[kSplit][H][V];
  for (auto& split : acc) {
    for (auto& head : split) {
      for (VF& a : head) a = hn::Zero(df);
    }
  }
  const auto add_row = [&](int64_t s, size_t part) HWY_ATTR {
    PrefetchLines(rows + (s + kPrefetchPositions) * stride, V * lanes * sizeof(T));
    VF value[V];
    for (size_t b = 0; b < V; ++b) value[b] = LoadF32(df, rows + s * stride + b * lanes);
    for (size_t h = 0; h < H; ++h) {
      const VF w = hn::Set(df, weights[h][s]);
      for (size_t b = 0; b < V; ++b) acc[part][h][b] = hn::MulAdd(w, value[b], acc[part][h][b]);
    }
  };
  int64_t s = 0;
  for (; s + static_cast<int64_t>(kSplit) <= len; s += kSplit) {
    for (size_t part = 0; part < kSplit; ++part) add_row(s + part, part);
  }
  for (; s < len; ++s) add_row(s, 0);
  for (size_t h = 0; h < H; ++h) {
    for (size_t b = 0; b < V; ++b) {
      VF sum = acc[0][h][b];
      for (size_t part = 1; part < kSplit; ++part) sum = hn::Add(sum, acc[part][h][b]);
      hn::StoreU(sum, df, out[h] + b * lanes);
    }
  }
}

// Multiplies row[0, n) by `factor`.
HWY_INLINE void MultiplyBy(float* HWY_RESTRICT row, int64_t n, float factor) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const VF v = hn::Set(df, factor);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(hn::Mul(hn::LoadU(df, row + i), v), df, row + i);
  for (; i < n; ++i) row[i] *= factor;
}

// out[h] = scale[h] * sum_s weights[h][s] * rows[s] over len contiguous rows
// of hd elements, for H heads, in blocks of kAccumulators / H vectors, at most 4
// (a head of 64 f32 on AVX-512).
template <size_t H, typename T>
HWY_INLINE void WeightedRowSum(const float* const* HWY_RESTRICT weights, const T* HWY_RESTRICT rows,
                               int64_t len, int64_t hd, const float* HWY_RESTRICT scale,
                               float* const* HWY_RESTRICT out) {
  constexpr size_t kVecs = H == 1 ? 4 : std::min<size_t>(4, kAccumulators / H);
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(DF()));
  const auto offset = [](float* const* base, int64_t i, float** shifted) {
    for (size_t h = 0; h < H; ++h) shifted[h] = base[h] + i;
  };
  float* shifted[H];
  int64_t i = 0;
  for (; i + static_cast<int64_t>(kVecs) * lanes <= hd; i += static_cast<int64_t>(kVecs) * lanes) {
    offset(out, i, shifted);
    WeightedRowBlock<H, kVecs>(weights, rows + i, len, hd, shifted);
  }
  for (; i + lanes <= hd; i += lanes) {
    offset(out, i, shifted);
    WeightedRowBlock<H, 1>(weights, rows + i, len, hd, shifted);
  }
  for (; i < hd; ++i) {
    for (size_t h = 0; h < H; ++h) {
      float acc = 0;
      for (int64_t s = 0; s < len; ++s) acc += weights[h][s] * ScalarF32(rows[s * hd + i]);
      out[h][i] = acc;
    }
  }
  // Scaled apart from the sums: broadcasts of the scales hoisted out of the
  // loops above took registers from the accumulators (gcc spilled the loaded
  // values at 8 heads).
  for (size_t h = 0; h < H; ++h) MultiplyBy(out[h], hd, scale[h]);
}

// The largest of values[0, len).
HWY_INLINE float MaxOf(const float* HWY_RESTRICT values, int64_t len) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  float best = -INFINITY;
  int64_t j = 0;
  if (len >= lanes) {
    VF vbest = hn::LoadU(df, values);
    for (j = lanes; j + lanes <= len; j += lanes) vbest = hn::Max(vbest, hn::LoadU(df, values + j));
    best = hn::GetLane(hn::MaxOfLanes(df, vbest));
  }
  for (; j < len; ++j) best = std::max(best, values[j]);
  return best;
}

// e^x for x <= 0, as softmax meets it (scores minus their maximum), in 14
// vector operations where Highway's Exp takes about 22 for any x (those were
// 15-20% of a prompt's attention). x is clamped at -87: e^-87 = 1.6e-38 is
// still a normal float and weighs nothing beside the maximum's 1. With n =
// round(x / ln 2) and r = x - n ln 2 (ln 2 in two parts, so r keeps its
// bits; |r| <= ln 2 / 2), e^r is its Taylor polynomial to degree 6
// (truncation below 1.2e-7 relative), and 2^n is added to its exponent bits.
// At n = -126, r > 0 and e^r > 1, so the result stays normal.
HWY_INLINE VF ExpOfNonPositive(DF df, VF x) {
  const hn::RebindToSigned<DF> di;
  x = hn::Max(x, hn::Set(df, -87.0f));
  const VF n = hn::Round(hn::Mul(x, hn::Set(df, 1.44269504088896341f)));
  VF r = hn::MulAdd(n, hn::Set(df, -0.693145751953125f), x);
  r = hn::MulAdd(n, hn::Set(df, -1.428606765330187e-6f), r);
  VF p = hn::Set(df, 1.0f / 720);
  for (const float c : {1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f}) {
    p = hn::MulAdd(p, r, hn::Set(df, c));
  }
  const auto exponent = hn::ShiftLeft<23>(hn::ConvertTo(di, n));
  return hn::BitCast(df, hn::Add(hn::BitCast(di, p), exponent));
}

// scores[0, len) = exp(scores[0, len) - their maximum); returns the
// reciprocal of their sum, which the value sums multiply: softmax's
// normalization then costs head_dim products instead of len. The last
// vector may run past len (KeyScores scored those positions, finite) and
// is zero there.
HWY_INLINE float ExpScores(float* HWY_RESTRICT scores, int64_t len) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const VF vmax = hn::Set(df, MaxOf(scores, len));
  VF vsum = hn::Zero(df);
  for (int64_t j = 0; j < len; j += lanes) {
    VF e = ExpOfNonPositive(df, hn::Sub(hn::LoadU(df, scores + j), vmax));
    if (j + lanes > len) e = hn::IfThenElseZero(hn::FirstN(df, len - j), e);
    hn::StoreU(e, df, scores + j);
    vsum = hn::Add(vsum, e);
  }
  return 1.0f / SumLanes(df, vsum);
}

// weights[0, len) *= value_scales[0, len).
HWY_INLINE void ScaleWeights(float* HWY_RESTRICT weights, const float* HWY_RESTRICT value_scales,
                             int64_t len) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t j = 0;
  for (; j + lanes <= len; j += lanes) {
    hn::StoreU(hn::Mul(hn::LoadU(df, weights + j), hn::LoadU(df, value_scales + j)), df,
               weights + j);
  }
  for (; j < len; ++j) weights[j] *= value_scales[j];
}

// A tile of query rows that share one kv head: `heads` consecutive query
// heads from `head` on, of `tokens` consecutive tokens from t on; row r is
// head head + r % heads of token t + r / heads.
struct QueryTile {
  int64_t t = 0, tokens = 1, head = 0, heads = 1;
};

// Attention of the R = tokens * heads rows of `tile`; `scores` holds R rows
// of `stride` floats. Every row gets scores up to the last token's context,
// and an earlier token's weights past its own context are zeroed, so the
// value sums run over one length for all rows.
template <size_t R, typename T>
void TileAttention(const AttentionArgs& a, const QueryTile& tile, float* scores, int64_t stride,
                   int8_t* query_bytes) {
  const int64_t hd = a.head_dim;
  const int64_t kv_head = tile.head / (a.n_heads / a.n_kv_heads);
  const int64_t len = a.start_position + tile.t + tile.tokens;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const float* q[R];
  float* rows[R];
  float* out[R];
  int64_t row_len[R];
  for (size_t r = 0; r < R; ++r) {
    const int64_t token = tile.t + static_cast<int64_t>(r) / tile.heads;
    const int64_t pair = token * a.n_heads + tile.head + static_cast<int64_t>(r) % tile.heads;
    q[r] = a.q + pair * hd;
    rows[r] = scores + static_cast<int64_t>(r) * stride;
    out[r] = a.out + pair * hd;
    row_len[r] = a.start_position + token + 1;
  }
  const T* k = static_cast<const T*>(a.k_cache) + KeyIndex(a, kv_head, 0, 0);
  const T* v = static_cast<const T*>(a.v_cache) + ValueIndex(a, kv_head, 0, 0);
  if constexpr (std::is_same_v<T, int8_t>) {
    QuantizedQueries<R> qq;
    for (size_t r = 0; r < R; ++r) {
      int8_t* bytes = query_bytes + r * KvKeyDim(DType::kI8, hd);
      qq.bytes[r] = bytes;
      qq.score_scale[r] = QuantizeInt8Row(q[r], hd, KvKeyDim(DType::kI8, hd), bytes) * scale;
      int32_t sum = 0;
      for (int64_t i = 0; i < hd; ++i) sum += bytes[i];
      qq.offset[r] = kDotBytesFullRange ? 128 * sum : 0;
    }
    KeyScoresInt8<R>(qq, k, KvScales(a, a.k_cache) + kv_head * a.capacity, hd, len, rows);
  } else {
    KeyScores<R>(q, k, hd, len, scale, rows);
  }
  float normalize[R];
  for (size_t r = 0; r < R; ++r) {
    normalize[r] = ExpScores(rows[r], row_len[r]);
    if constexpr (std::is_same_v<T, int8_t>) {
      ScaleWeights(rows[r], KvScales(a, a.v_cache) + kv_head * a.capacity, row_len[r]);
    }
    std::fill(rows[r] + row_len[r], rows[r] + len, 0.0f);
  }
  WeightedRowSum<R>(rows, v, len, hd, normalize, out);
}

// Attention for (token, head) pairs [begin, end), numbered kv head first:
// pair ((kv_head * n) + token) * group + h is query head kv_head * group + h
// of that token, so one thread's pairs read few kv heads' caches, which stay
// in its L2 across a prefill's tokens (token first, every token read every
// kv head's keys and values, from the L3 at long prompts). For one token the
// number is the head. Up to kMaxRows rows are computed together: consecutive
// heads of one kv head and token, up to kMaxHeads; and where those are the
// kv head's whole group, the same heads of consecutive tokens, which each
// key and value vector then serves too.
template <typename T>
void AttentionPairs(const AttentionArgs& a, int64_t begin, int64_t end) {
  const int64_t group = a.n_heads / a.n_kv_heads;
  const int64_t stride = KvCacheCapacity(a.start_position + a.n);
  // Reused across calls: every position a kernel reads, KeyScores or
  // QuantizeInt8Row has written first in this call.
  thread_local Scratch score_scratch, query_scratch;
  float* const scores = score_scratch.Get<float>(kMaxRows * stride);
  int8_t* const query_bytes =
      query_scratch.Get<int8_t>(kMaxRows * KvKeyDim(DType::kI8, a.head_dim));
  for (int64_t pair = begin; pair < end;) {
    const int64_t kv_head = pair / (a.n * group), t = pair / group % a.n, h = pair % group;
    QueryTile tile{.t = t, .head = kv_head * group + h};
    tile.heads = std::bit_floor(
        static_cast<uint64_t>(std::min({end - pair, group - h, static_cast<int64_t>(kMaxHeads)})));
    if (tile.heads == group) {
      const int64_t whole_groups = (std::min(end, (kv_head + 1) * a.n * group) - pair) / group;
      tile.tokens = std::bit_floor(static_cast<uint64_t>(
          std::min(whole_groups, static_cast<int64_t>(kMaxRows) / tile.heads)));
    }
    static_assert(kMaxRows == 8, "the cases below take 8, 4, 2 or 1 rows");
    const int64_t rows = tile.tokens * tile.heads;  // tokens > 1 take whole groups
    switch (rows) {
      case 8:
        TileAttention<8, T>(a, tile, scores, stride, query_bytes);
        break;
      case 4:
        TileAttention<4, T>(a, tile, scores, stride, query_bytes);
        break;
      case 2:
        TileAttention<2, T>(a, tile, scores, stride, query_bytes);
        break;
      default:
        TileAttention<1, T>(a, tile, scores, stride, query_bytes);
    }
    pair += rows;
  }
}

}  // namespace

void AttentionTarget(const AttentionArgs& a, int64_t begin, int64_t end) {
  switch (a.kv_dtype) {
    case DType::kF16:
      return AttentionPairs<hwy::float16_t>(a, begin, end);
    case DType::kI8:
      return AttentionPairs<int8_t>(a, begin, end);
    default:
      return AttentionPairs<float>(a, begin, end);
  }
}

void SoftmaxExpTarget(const float* x, int64_t n, float* out) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(ExpOfNonPositive(df, hn::LoadU(df, x + i)), df, out + i);
  }
  if (i < n) {
    HWY_ALIGN float tail[hn::MaxLanes(df)] = {};
    std::copy(x + i, x + n, tail);
    hn::Store(ExpOfNonPositive(df, hn::Load(df, tail)), df, tail);
    std::copy(tail, tail + (n - i), out + i);
  }
}

void StoreF16Target(const float* src, size_t count, uint16_t* dst) {
  size_t i = 0;
  // F16C (AVX2 and up) rounds to nearest even; Highway's emulation on older
  // targets truncates, so those use the scalar conversion.
#if HWY_TARGET <= HWY_AVX2
  const DF df;
  const hn::Rebind<hwy::float16_t, DF> dh;
  const size_t lanes = hn::Lanes(df);
  auto* out = reinterpret_cast<hwy::float16_t*>(dst);
  for (; i + lanes <= count; i += lanes) {
    hn::StoreU(hn::DemoteTo(dh, hn::LoadU(df, src + i)), dh, out + i);
  }
#endif
  for (; i < count; ++i) dst[i] = F32ToF16(src[i]);
}

}  // namespace HWY_NAMESPACE
}  // namespace lorashare
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lorashare {

HWY_EXPORT(AttentionTarget);
HWY_EXPORT(StoreF16Target);
HWY_EXPORT(SoftmaxExpTarget);

void SoftmaxExp(const float* x, int64_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(SoftmaxExpTarget)(x, n, out);
}

void Attention(const AttentionArgs& args, ThreadPool* pool) {
  const auto run = [&](int64_t begin, int64_t end) {
    HWY_DYNAMIC_DISPATCH(AttentionTarget)(args, begin, end);
  };
  // Whole groups of query heads: each kv head's keys and values are read
  // once for all the heads that share them.
  ParallelFor(pool, args.n * args.n_heads, run, args.n_heads / args.n_kv_heads);
}

namespace {

// An int8 cache's quantization of one kv head's row (attention.h).
struct KvRowScale {
  float scale = 0;
  float inverse = 0;
};

KvRowScale ScaleOfRow(const float* row, int64_t count) {
  float amax = 0;
  for (int64_t i = 0; i < count; ++i) amax = std::max(amax, std::fabs(row[i]));
  const float scale = amax / 127.0f;
  return {scale, scale != 0 ? 1.0f / scale : 0.0f};
}

// Element `index` of a cache of `dtype` set to `value` (f16: rounded to
// nearest even; int8: quantized with the row's scale).
void StoreElement(float value, DType dtype, const KvRowScale& s, void* cache, int64_t index) {
  switch (dtype) {
    case DType::kF16:
      static_cast<uint16_t*>(cache)[index] = F32ToF16(value);
      return;
    case DType::kI8:
      static_cast<int8_t*>(cache)[index] = QuantizeInt8(value, s.inverse);
      return;
    default:
      static_cast<float*>(cache)[index] = value;
  }
}

// The scale an int8 row gets, stored in its cache's scales; none otherwise.
KvRowScale StoreRowScale(const float* row, const AttentionArgs& args, void* cache, int64_t kv_head,
                         int64_t position) {
  if (args.kv_dtype != DType::kI8) return {};
  const KvRowScale s = ScaleOfRow(row, args.head_dim);
  KvScales(args, cache)[kv_head * args.capacity + position] = s.scale;
  return s;
}

// StoreKeys / StoreValues for kv heads [first, last).
void StoreKeyHeads(const float* src, const AttentionArgs& args, void* k_cache, int64_t first,
                   int64_t last) {
  const int64_t hd = args.head_dim;
  const size_t block_bytes = KvKeyDim(args.kv_dtype, hd) * kKeyBlock * DTypeSize(args.kv_dtype);
  for (int64_t t = 0; t < args.n; ++t) {
    const int64_t position = args.start_position + t;
    for (int64_t h = first; h < last; ++h) {
      if (position % kKeyBlock == 0) {
        const int64_t block = KeyIndex(args, h, 0, position);
        std::memset(static_cast<uint8_t*>(k_cache) + block * DTypeSize(args.kv_dtype), 0,
                    block_bytes);
        if (args.kv_dtype == DType::kI8) {
          float* scales = KvScales(args, k_cache) + h * args.capacity + position;
          std::fill(scales, scales + kKeyBlock, 0.0f);
        }
      }
      const float* row = src + (t * args.n_kv_heads + h) * hd;
      const KvRowScale s = StoreRowScale(row, args, k_cache, h, position);
      for (int64_t i = 0; i < hd; ++i) {
        StoreElement(row[i], args.kv_dtype, s, k_cache, KeyIndex(args, h, i, position));
      }
    }
  }
}

void StoreValueHeads(const float* src, const AttentionArgs& args, void* v_cache, int64_t first,
                     int64_t last) {
  const int64_t hd = args.head_dim;
  const size_t element = DTypeSize(args.kv_dtype);
  for (int64_t t = 0; t < args.n; ++t) {
    const int64_t position = args.start_position + t;
    for (int64_t h = first; h < last; ++h) {
      const float* row = src + (t * args.n_kv_heads + h) * hd;
      const int64_t at = ValueIndex(args, h, 0, position);
      uint8_t* to = static_cast<uint8_t*>(v_cache) + at * element;
      switch (args.kv_dtype) {
        case DType::kF16:
          HWY_DYNAMIC_DISPATCH(StoreF16Target)(row, hd, reinterpret_cast<uint16_t*>(to));
          break;
        case DType::kI8: {
          const KvRowScale s = StoreRowScale(row, args, v_cache, h, position);
          for (int64_t i = 0; i < hd; ++i) StoreElement(row[i], DType::kI8, s, v_cache, at + i);
          break;
        }
        default:
          std::memcpy(to, row, hd * sizeof(float));
      }
    }
  }
}

}  // namespace

void StoreKeys(const float* src, const AttentionArgs& args, void* k_cache) {
  StoreKeyHeads(src, args, k_cache, 0, args.n_kv_heads);
}

void StoreValues(const float* src, const AttentionArgs& args, void* v_cache) {
  StoreValueHeads(src, args, v_cache, 0, args.n_kv_heads);
}

void AppendAndAttend(const NewKeysValues& kv, const AttentionArgs& args, ThreadPool* pool) {
  const auto store = [&](int64_t first, int64_t last) {
    StoreKeyHeads(kv.keys, args, kv.k_cache, first, last);
    StoreValueHeads(kv.values, args, kv.v_cache, first, last);
  };
  if (args.n > 1) {
    ParallelFor(pool, args.n_kv_heads, store);
    return Attention(args, pool);
  }
  const int64_t group = args.n_heads / args.n_kv_heads;
  ParallelFor(pool, args.n_kv_heads, [&](int64_t first, int64_t last) {
    store(first, last);
    HWY_DYNAMIC_DISPATCH(AttentionTarget)(args, first * group, last * group);
  });
}

namespace {

// Element `index` of a cache, which holds (kv_head, position), as a number.
double CacheAt(const AttentionArgs& a, const void* cache, int64_t index, int64_t kv_head,
               int64_t position) {
  switch (a.kv_dtype) {
    case DType::kF16:
      return F16ToF32(static_cast<const uint16_t*>(cache)[index]);
    case DType::kI8:
      return static_cast<double>(static_cast<const int8_t*>(cache)[index]) *
             KvScales(a, cache)[kv_head * a.capacity + position];
    default:
      return static_cast<const float*>(cache)[index];
  }
}

}  // namespace

void AttentionReference(const AttentionArgs& a) {
  const int64_t hd = a.head_dim;
  const int64_t group = a.n_heads / a.n_kv_heads;
  std::vector<double> scores, query;
  std::vector<int8_t> query_bytes(hd);
  for (int64_t t = 0; t < a.n; ++t) {
    for (int64_t h = 0; h < a.n_heads; ++h) {
      const int64_t len = a.start_position + t + 1;
      const float* q = a.q + (t * a.n_heads + h) * hd;
      const int64_t kv_head = h / group;
      // Over int8 keys the query is quantized as they are (attention.h).
      query.assign(q, q + hd);
      if (a.kv_dtype == DType::kI8) {
        const double q_scale = QuantizeActivationRow(q, hd, hd, query_bytes.data());
        for (int64_t i = 0; i < hd; ++i) query[i] = query_bytes[i] * q_scale;
      }
      scores.assign(len, 0.0);
      double max_score = -INFINITY;
      for (int64_t j = 0; j < len; ++j) {
        for (int64_t i = 0; i < hd; ++i)
          scores[j] += query[i] * CacheAt(a, a.k_cache, KeyIndex(a, kv_head, i, j), kv_head, j);
        scores[j] /= std::sqrt(static_cast<double>(hd));
        max_score = std::max(max_score, scores[j]);
      }
      double sum = 0;
      for (double& s : scores) sum += (s = std::exp(s - max_score));
      float* out = a.out + (t * a.n_heads + h) * hd;
      for (int64_t i = 0; i < hd; ++i) {
        double acc = 0;
        for (int64_t j = 0; j < len; ++j)
          acc += scores[j] * CacheAt(a, a.v_cache, ValueIndex(a, kv_head, i, j), kv_head, j);
        out[i] = static_cast<float>(acc / sum);
      }
    }
  }
}

}  // namespace lorashare
#endif  // HWY_ONCE

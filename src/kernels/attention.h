// Causal grouped-query attention over a KV cache of f32, f16 or int8.
//
// One layer's value cache is [n_kv_heads, capacity, head_dim]. Its key cache
// is transposed in blocks of kKeyBlock positions, [n_kv_heads, capacity /
// kKeyBlock, head_dim, kKeyBlock] (KeyIndex; int8: below): scores then
// accumulate a vector of positions per broadcast query element (no
// horizontal sums), each block is one contiguous run, and memory becomes
// resident a block at a time as the context grows. Positions [0,
// start_position + n) are written (the new tokens' by StoreKeys and
// StoreValues). Query token t (at start_position + t) attends to rows [0,
// start_position + t]; query head h reads kv head h / (n_heads /
// n_kv_heads); up to four query heads of one kv head are computed together,
// and in a prompt, where those are the kv head's whole group, the same heads
// of consecutive tokens too, up to eight (token, head) rows: each key and
// value vector is read (and widened) once for them. Softmax subtracts the
// row maximum, so large scores do not overflow.
//
// An f16 cache halves the cache's memory and the bytes attention reads per
// token; an int8 cache (i8) nearly halves them again. int8 quantizes each kv
// head's vector of head_dim elements at each position symmetrically, as the
// activations of the quantized matmul (kernels/quantize.h): s = max|x| / 127,
// q = round-to-nearest-even(x / s) in [-127, 127]. The scales, f32
// [n_kv_heads, capacity], follow the elements in the same buffer
// (KvScales); a key's scale multiplies its position's score, a value's scale
// the softmax weight of its position. Values are widened to f32 in
// registers. Scores over int8 keys are integer dot products (VNNI's dpbusd
// where the CPU has it): each query head's vector is quantized the same way,
// and a score is q8 . k8 * s_q * s_k / sqrt(head_dim). For them an int8 key
// block holds groups of four elements per position, [head_dim / 4, kKeyBlock,
// 4] (head_dim padded with zeros to a multiple of 4, KvKeyDim), so one
// 32-bit lane holds four elements of one position.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "format/dtype.h"
#include "kernels/thread_pool.h"

namespace lorashare {

// Element types a KV cache may hold.
inline bool KvCacheTakesDType(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kI8;
}

// Positions per key block; a cache's capacity is a multiple of it.
constexpr int64_t kKeyBlock = 64;

// A cache capacity holding at least `positions`.
inline int64_t KvCacheCapacity(int64_t positions) {
  return (positions + kKeyBlock - 1) / kKeyBlock * kKeyBlock;
}

// Elements per position of a kv head in a cache of `dtype`: int8 pads the
// head to whole groups of four.
inline int64_t KvKeyDim(DType dtype, int64_t head_dim) {
  return dtype == DType::kI8 ? (head_dim + 3) / 4 * 4 : head_dim;
}

// Where an int8 cache's scales start: the first 64-byte boundary after its
// elements.
inline uint64_t KvScalesOffset(int64_t n_kv_heads, int64_t head_dim, int64_t capacity) {
  const int64_t elements = n_kv_heads * capacity * KvKeyDim(DType::kI8, head_dim);
  return (static_cast<uint64_t>(elements) + 63) / 64 * 64;
}

// Bytes of one layer's key (or value) cache of `capacity` positions.
inline uint64_t KvCacheBytes(DType dtype, int64_t n_kv_heads, int64_t head_dim, int64_t capacity) {
  if (dtype != DType::kI8) {
    return static_cast<uint64_t>(n_kv_heads * capacity * head_dim) * DTypeSize(dtype);
  }
  return KvScalesOffset(n_kv_heads, head_dim, capacity) +
         static_cast<uint64_t>(n_kv_heads * capacity) * sizeof(float);
}

// The byte runs of one layer's key (`keys`) or value cache that positions
// [first, last) occupy, rounded out to whole key blocks: per kv head a run of
// its elements and, for int8, one of its scales. fn(offset, bytes) per run,
// so a caller can make them resident before writing them.
template <class Fn>
void ForEachKvRun(DType dtype, bool keys, int64_t n_kv_heads, int64_t head_dim, int64_t capacity,
                  int64_t first, int64_t last, const Fn& fn) {
  first = first / kKeyBlock * kKeyBlock;
  last = std::min(capacity, KvCacheCapacity(last));
  if (first >= last) return;
  const uint64_t row = static_cast<uint64_t>(keys ? KvKeyDim(dtype, head_dim) : head_dim) *
                       DTypeSize(dtype);  // bytes per position
  for (int64_t h = 0; h < n_kv_heads; ++h) {
    fn((h * capacity + first) * row, (last - first) * row);
    if (dtype == DType::kI8) {
      fn(KvScalesOffset(n_kv_heads, head_dim, capacity) + (h * capacity + first) * sizeof(float),
         (last - first) * sizeof(float));
    }
  }
}

struct AttentionArgs {
  const float* q = nullptr;  // [n, n_heads * head_dim]
  const void* k_cache = nullptr;
  const void* v_cache = nullptr;
  DType kv_dtype = DType::kF32;  // of both caches (KvCacheTakesDType)
  float* out = nullptr;          // [n, n_heads * head_dim]
  int64_t n = 0;
  int64_t start_position = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t capacity = 0;  // positions per kv head in the caches (KvCacheCapacity)
};

// Where value `element` of `kv_head` at `position` sits in a value cache.
inline int64_t ValueIndex(const AttentionArgs& a, int64_t kv_head, int64_t element,
                          int64_t position) {
  return (kv_head * a.capacity + position) * a.head_dim + element;
}

// The scales of an int8 key or value cache: (kv_head, position) at
// kv_head * capacity + position.
inline float* KvScales(const AttentionArgs& a, void* cache) {
  return reinterpret_cast<float*>(static_cast<uint8_t*>(cache) +
                                  KvScalesOffset(a.n_kv_heads, a.head_dim, a.capacity));
}
inline const float* KvScales(const AttentionArgs& a, const void* cache) {
  return reinterpret_cast<const float*>(static_cast<const uint8_t*>(cache) +
                                        KvScalesOffset(a.n_kv_heads, a.head_dim, a.capacity));
}

// Where key `element` of `kv_head` at `position` sits in a key cache.
inline int64_t KeyIndex(const AttentionArgs& a, int64_t kv_head, int64_t element,
                        int64_t position) {
  const int64_t block = kv_head * (a.capacity / kKeyBlock) + position / kKeyBlock;
  if (a.kv_dtype == DType::kI8) {
    const int64_t group = block * KvKeyDim(DType::kI8, a.head_dim) / 4 + element / 4;
    return (group * kKeyBlock + position % kKeyBlock) * 4 + element % 4;
  }
  return (block * a.head_dim + element) * kKeyBlock + position % kKeyBlock;
}

// out[i] = e^x[i] for x[i] <= 0 as Attention's softmax computes it: within
// 3e-7 (relative) of e^x from -87 up; below, e^-87.
void SoftmaxExp(const float* x, int64_t n, float* out);

// Splits (token, head) pairs across the pool, kv head by kv head.
void Attention(const AttentionArgs& args, ThreadPool* pool);
void AttentionReference(const AttentionArgs& args);

// The new tokens' keys and values, each [n, n_kv_heads * head_dim] f32, and
// the caches they go to.
struct NewKeysValues {
  const float* keys = nullptr;
  const float* values = nullptr;
  void* k_cache = nullptr;
  void* v_cache = nullptr;
};

// StoreKeys and StoreValues of `kv`, then Attention. For one token (decode)
// both run in one parallel pass, a kv head at a time: its keys and values
// written, then its query heads. The writes miss the cache (a new position's
// keys touch a line per element), and this way both threads wait on their
// own kv heads' misses at once rather than the caller on all of them alone
// before the pass; the pass then reads lines its own thread just wrote. For
// several tokens, the stores are one pass over kv heads and attention
// another, as a token's query reads the keys of the tokens before it.
void AppendAndAttend(const NewKeysValues& kv, const AttentionArgs& args, ThreadPool* pool);

// Write the keys or values of tokens [start_position, start_position + n) of
// `args` from src ([n, n_kv_heads * head_dim] f32) into that cache, as
// kv_dtype (f16: rounded to nearest even; int8: quantized per kv head and
// position with its scale, see above). StoreKeys zeroes a key block (and, for
// int8, its positions' scales) when it writes the block's first position, so
// attention may read whole vectors of a block past the last written position.
void StoreKeys(const float* src, const AttentionArgs& args, void* k_cache);
void StoreValues(const float* src, const AttentionArgs& args, void* v_cache);

}  // namespace lorashare

// Causal grouped-query attention over a KV cache of f32 or f16.
//
// The cache of one layer holds rows [0, start_position + n) of keys and of
// values, each row n_kv_heads * head_dim elements (the new tokens' rows
// already written, see StoreKvRows). Query token t (at start_position + t)
// attends to rows [0, start_position + t]; query head h reads kv head
// h / (n_heads / n_kv_heads). Softmax subtracts the row maximum, so large
// scores do not overflow. An f16 cache halves the cache's memory and the
// bytes attention reads per token; rows are widened to f32 in registers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/dtype.h"
#include "kernels/thread_pool.h"

namespace lorashare {

// Element types a KV cache may hold.
inline bool KvCacheTakesDType(DType dtype) { return dtype == DType::kF32 || dtype == DType::kF16; }

struct AttentionArgs {
  const float* q = nullptr;  // [n, n_heads * head_dim]
  const void* k_cache = nullptr;
  const void* v_cache = nullptr;
  DType kv_dtype = DType::kF32;  // of both caches
  float* out = nullptr;          // [n, n_heads * head_dim]
  int64_t n = 0;
  int64_t start_position = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
};

// Splits (token, head) pairs across the pool.
void Attention(const AttentionArgs& args, ThreadPool* pool);
void AttentionReference(const AttentionArgs& args);

// Writes `count` floats to a cache of `dtype` (f16: rounded to nearest even).
void StoreKvRows(const float* src, size_t count, DType dtype, void* dst);

}  // namespace lorashare

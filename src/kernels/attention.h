// Causal grouped-query attention over an f32 KV cache.
//
// The cache of one layer holds rows [0, start_position + n) of keys and of
// values, each row n_kv_heads * head_dim floats (the new tokens' rows already
// written). Query token t (at start_position + t) attends to rows
// [0, start_position + t]; query head h reads kv head h / (n_heads / n_kv_heads).
// Softmax subtracts the row maximum, so large scores do not overflow.
#pragma once

#include <cstdint>

#include "kernels/thread_pool.h"

namespace lorashare {

struct AttentionArgs {
  const float* q = nullptr;  // [n, n_heads * head_dim]
  const float* k_cache = nullptr;
  const float* v_cache = nullptr;
  float* out = nullptr;  // [n, n_heads * head_dim]
  int64_t n = 0;
  int64_t start_position = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
};

// Splits (token, head) pairs across the pool.
void Attention(const AttentionArgs& args, ThreadPool* pool);
void AttentionReference(const AttentionArgs& args);

}  // namespace lorashare

// The kernels the runtime adds on top of the per-op ones, on every Highway
// target this CPU supports: attention over f16 and int8 KV caches against the
// scalar reference and against the f32 cache, the caches' stores, and LoRA with the A
// products of a group computed in one pass against each member's own
// reference.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kernels/attention.h"
#include "kernels/half.h"
#include "kernels/lora.h"
#include "kernels/target_test_util.h"

namespace lorashare {
namespace {

using KvLoraKernelTest = PerTargetTest;

// A key (or value) cache of `capacity` positions per kv head holding `rows`
// ([count, kv_width] f32) at positions [0, count).
std::vector<uint8_t> FilledCache(const std::vector<float>& rows, AttentionArgs layout,
                                 int64_t count, bool keys) {
  std::vector<uint8_t> cache(
      KvCacheBytes(layout.kv_dtype, layout.n_kv_heads, layout.head_dim, layout.capacity));
  layout.n = count;
  layout.start_position = 0;
  (keys ? StoreKeys : StoreValues)(rows.data(), layout, cache.data());
  return cache;
}

// Keys go to [kv_head][position / 64][element][position % 64], values to
// [kv_head][position][element]. Writing a key block's first position zeroes
// the block.
TEST_P(KvLoraKernelTest, StoreKeysAndValuesUseTheCacheLayouts) {
  const int64_t kv_heads = 3, head_dim = 5, capacity = 2 * kKeyBlock, start = 60, n = 6;
  const auto values = RandomFloats(n * kv_heads * head_dim, 3, -60000.0f, 60000.0f);
  AttentionArgs args{.n = n,
                     .start_position = start,
                     .n_kv_heads = kv_heads,
                     .head_dim = head_dim,
                     .capacity = capacity};
  const size_t elements = kv_heads * capacity * head_dim;
  std::vector<float> k32(elements, -1.0f), v32(elements, -1.0f);
  std::vector<uint16_t> k16(elements, 0xffff), v16(elements, 0xffff);
  args.kv_dtype = DType::kF32;
  StoreKeys(values.data(), args, k32.data());
  StoreValues(values.data(), args, v32.data());
  args.kv_dtype = DType::kF16;
  StoreKeys(values.data(), args, k16.data());
  StoreValues(values.data(), args, v16.data());
  for (int64_t h = 0; h < kv_heads; ++h) {
    for (int64_t p = 0; p < capacity; ++p) {
      for (int64_t i = 0; i < head_dim; ++i) {
        const size_t key_at = ((h * 2 + p / 64) * head_dim + i) * 64 + p % 64;
        const size_t value_at = (h * capacity + p) * head_dim + i;
        if (p < start || p >= start + n) {
          const bool zeroed = p >= 64;  // the block position 64 opened
          ASSERT_EQ(k32[key_at], zeroed ? 0.0f : -1.0f) << "position " << p;
          ASSERT_EQ(k16[key_at], zeroed ? 0 : 0xffff) << "position " << p;
          ASSERT_EQ(v32[value_at], -1.0f) << "position " << p << " is not the new tokens'";
          ASSERT_EQ(v16[value_at], 0xffff);
          continue;
        }
        const float want = values[((p - start) * kv_heads + h) * head_dim + i];
        ASSERT_EQ(k32[key_at], want) << "head " << h << " position " << p << " element " << i;
        ASSERT_EQ(v32[value_at], want) << "head " << h << " position " << p << " element " << i;
        ASSERT_EQ(k16[key_at], F32ToF16(want)) << want;
        ASSERT_EQ(v16[value_at], F32ToF16(want)) << want;
      }
    }
  }
}

// int8: each kv head's row at a position gets scale max|x| / 127, its
// largest element +-127, and every element within half a step of its value;
// opening a key block zeroes its keys (the padding of head_dim 5 to 8
// too) and scales; nothing else is written.
TEST_P(KvLoraKernelTest, StoreKeysAndValuesQuantizeInt8) {
  const int64_t kv_heads = 3, head_dim = 5, capacity = 2 * kKeyBlock, start = 60, n = 6;
  auto values = RandomFloats(n * kv_heads * head_dim, 4, -3.0f, 3.0f);
  std::fill_n(values.begin() + head_dim, head_dim, 0.0f);  // an all-zero row: scale 0
  AttentionArgs args{.kv_dtype = DType::kI8,
                     .n = n,
                     .start_position = start,
                     .n_kv_heads = kv_heads,
                     .head_dim = head_dim,
                     .capacity = capacity};
  const uint64_t bytes = KvCacheBytes(DType::kI8, kv_heads, head_dim, capacity);
  const int64_t padded_dim = 8;  // whole groups of four elements
  ASSERT_EQ(bytes, (kv_heads * capacity * padded_dim + 63) / 64 * 64 + kv_heads * capacity * 4);
  std::vector<uint8_t> k(bytes, 0x55), v(bytes, 0x55);
  StoreKeys(values.data(), args, k.data());
  StoreValues(values.data(), args, v.data());
  const auto* k8 = reinterpret_cast<const int8_t*>(k.data());
  const auto* v8 = reinterpret_cast<const int8_t*>(v.data());
  const float* k_scales = KvScales(args, k.data());
  const float* v_scales = KvScales(args, v.data());
  float untouched;
  std::memset(&untouched, 0x55, sizeof(untouched));
  for (int64_t h = 0; h < kv_heads; ++h) {
    for (int64_t p = 0; p < capacity; ++p) {
      const int64_t at = h * capacity + p;
      if (p < start || p >= start + n) {
        const bool zeroed = p >= 64;  // the block position 64 opened
        ASSERT_EQ(k_scales[at], zeroed ? 0.0f : untouched) << "head " << h << " position " << p;
        ASSERT_EQ(v_scales[at], untouched) << "position " << p;
        for (int64_t i = 0; i < head_dim; ++i) {
          ASSERT_EQ(k8[KeyIndex(args, h, i, p)], zeroed ? 0 : 0x55) << "position " << p;
          ASSERT_EQ(v8[ValueIndex(args, h, i, p)], 0x55) << "position " << p;
        }
        continue;
      }
      const float* row = &values[((p - start) * kv_heads + h) * head_dim];
      float amax = 0;
      for (int64_t i = 0; i < head_dim; ++i) amax = std::max(amax, std::fabs(row[i]));
      const std::string what = fmt::format("head {} position {}", h, p);
      ASSERT_FLOAT_EQ(k_scales[at], amax / 127) << what;
      ASSERT_FLOAT_EQ(v_scales[at], amax / 127) << what;
      int largest = 0;
      for (int64_t i = 0; i < head_dim; ++i) {
        const int8_t key = k8[KeyIndex(args, h, i, p)], value = v8[ValueIndex(args, h, i, p)];
        ASSERT_EQ(key, value) << what;
        ASSERT_GE(key, -127) << what;
        ASSERT_LE(std::fabs(key * k_scales[at] - row[i]), k_scales[at] * 0.5f * 1.0001f) << what;
        largest = std::max(largest, std::abs(static_cast<int>(key)));
      }
      ASSERT_EQ(largest, amax > 0 ? 127 : 0) << what;
      // Positions 64 on are in a block this call opened: its padding is zero.
      for (int64_t i = head_dim; i < padded_dim && p >= 64; ++i) {
        ASSERT_EQ(k8[KeyIndex(args, h, i, p)], 0) << what << " padding " << i;
      }
    }
  }
}

// A compact cache's attention shape and inputs: the query values and the
// keys and values of positions [0, start + n), uniform in (-range, range).
struct CacheCase {
  int64_t heads, kv_heads, head_dim, start, n;
  float range;
};

// Attention over a `dtype` cache of `c`: it matches the scalar reference
// over the same cache, and the f32 cache's within `tolerance` (relative and
// absolute), without being equal to it.
void ExpectAttentionOverCache(DType dtype, const CacheCase& c, float tolerance) {
  ThreadPool pool(2);
  const int64_t rows = c.start + c.n, kv_width = c.kv_heads * c.head_dim;
  const auto q = RandomFloats(c.n * c.heads * c.head_dim, 1, -c.range, c.range);
  const auto k = RandomFloats(rows * kv_width, 2, -c.range, c.range);
  const auto v = RandomFloats(rows * kv_width, 3);
  AttentionArgs args{.q = q.data(),
                     .kv_dtype = dtype,
                     .n = c.n,
                     .start_position = c.start,
                     .n_heads = c.heads,
                     .n_kv_heads = c.kv_heads,
                     .head_dim = c.head_dim,
                     .capacity = KvCacheCapacity(rows)};
  const std::string name(DTypeName(dtype));
  std::vector<float> got(c.n * c.heads * c.head_dim), want(got.size()), f32(got.size());
  for (const DType cache : {dtype, DType::kF32}) {
    args.kv_dtype = cache;
    const auto k_cache = FilledCache(k, args, rows, true);
    const auto v_cache = FilledCache(v, args, rows, false);
    args.k_cache = k_cache.data();
    args.v_cache = v_cache.data();
    args.out = cache == dtype ? got.data() : f32.data();
    Attention(args, &pool);
    if (cache != dtype) continue;
    args.out = want.data();
    AttentionReference(args);
  }
  ExpectClose(got, want, 1e-4f, 1e-5f, name + " cache vs reference");
  ExpectClose(got, f32, tolerance, tolerance, name + " cache vs f32 cache");
  EXPECT_NE(got, f32);
}

// f16 keys and values are within 2^-11 (relative) of the f32 cache's. Five
// query heads per kv head: computed four together, then one; four (a whole
// group): two tokens' heads together, then the last token's.
TEST_P(KvLoraKernelTest, AttentionOverF16CacheMatchesReference) {
  ExpectAttentionOverCache(DType::kF16, {10, 2, 20, 13, 5, 2.0f}, 1e-2f);
  ExpectAttentionOverCache(DType::kF16, {8, 2, 20, 13, 5, 2.0f}, 1e-2f);
}

// int8 keys, values and queries (for the scores) are within 1/254 of their
// row's largest. Positions past a key block and past the last whole vector;
// four heads, then two; then a head size that pads to whole groups of four
// (38 to 40), over three key blocks, four heads and one; two heads of
// four tokens together, then of one.
TEST_P(KvLoraKernelTest, AttentionOverInt8CacheMatchesReference) {
  ExpectAttentionOverCache(DType::kI8, {12, 2, 64, 75, 3, 1.0f}, 1e-2f);
  ExpectAttentionOverCache(DType::kI8, {10, 2, 38, 170, 4, 2.0f}, 2e-2f);
  ExpectAttentionOverCache(DType::kI8, {4, 2, 64, 60, 5, 1.0f}, 1e-2f);
}

// AppendAndAttend for one token (stores and attention in one pass, a kv head
// at a time) and for several (a store pass, then attention), over caches that
// already hold earlier positions: the caches end byte for byte as
// StoreKeys/StoreValues leave them, and the output matches the reference over
// those caches. Five kv heads over two threads, so each thread stores heads
// the other's query heads never read.
TEST_P(KvLoraKernelTest, AppendAndAttendStoresThenAttends) {
  ThreadPool pool(2);
  const int64_t heads = 20, kv_heads = 5, head_dim = 24, start = 70;
  for (const DType dtype : {DType::kF32, DType::kF16, DType::kI8}) {
    for (const int64_t n : {int64_t{1}, int64_t{4}}) {
      const int64_t rows = start + n, kv_width = kv_heads * head_dim;
      const auto q = RandomFloats(n * heads * head_dim, 11, -2, 2);
      const auto k = RandomFloats(rows * kv_width, 12, -2, 2);
      const auto v = RandomFloats(rows * kv_width, 13);
      AttentionArgs args{.q = q.data(),
                         .kv_dtype = dtype,
                         .n_heads = heads,
                         .n_kv_heads = kv_heads,
                         .head_dim = head_dim,
                         .capacity = KvCacheCapacity(rows)};
      // Positions [0, start) already cached; the new tokens' rows follow.
      auto k_got = FilledCache(k, args, start, true), v_got = FilledCache(v, args, start, false);
      auto k_want = FilledCache(k, args, rows, true), v_want = FilledCache(v, args, rows, false);
      args.n = n;
      args.start_position = start;
      args.k_cache = k_got.data();
      args.v_cache = v_got.data();
      std::vector<float> got(n * heads * head_dim), want(got.size());
      args.out = got.data();
      AppendAndAttend({.keys = k.data() + start * kv_width,
                       .values = v.data() + start * kv_width,
                       .k_cache = k_got.data(),
                       .v_cache = v_got.data()},
                      args, &pool);
      const std::string what = fmt::format("{} tokens, {}", n, DTypeName(dtype));
      EXPECT_EQ(k_got, k_want) << what << ": keys";
      EXPECT_EQ(v_got, v_want) << what << ": values";
      args.out = want.data();
      AttentionReference(args);
      ExpectClose(got, want, 1e-4f, 1e-5f, what);
    }
  }
}

// Stored matrix of `dtype` with values exactly representable in it.
std::vector<uint8_t> Stored(DType dtype, const std::vector<float>& values) {
  std::vector<uint8_t> bytes(values.size() * DTypeSize(dtype));
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::kBF16) {
      const uint16_t h = F32ToBF16(values[i]);
      std::memcpy(&bytes[2 * i], &h, 2);
    } else {
      std::memcpy(&bytes[4 * i], &values[i], 4);
    }
  }
  return bytes;
}

// Two A matrices of different dtypes over one x in one LoraDownGroup pass,
// then each member's LoraUp from its columns, against each member alone.
TEST_P(KvLoraKernelTest, GroupedLoraDownMatchesEachMember) {
  ThreadPool pool(2);
  const int64_t in = 37, n = 6, ranks[] = {4, 23};
  const int64_t outs[] = {19, 11}, offsets[] = {0, ranks[0]};
  const DType a_types[] = {DType::kBF16, DType::kF32};
  const int64_t total_rank = ranks[0] + ranks[1];
  const auto x = RandomFloats(n * in, 9);
  std::vector<std::vector<uint8_t>> a_bytes, b_bytes;
  std::vector<MatrixView> a_views;
  for (int m = 0; m < 2; ++m) {
    auto a = RandomFloats(ranks[m] * in, 20 + m);
    for (float& value : a) value = BF16ToF32(F32ToBF16(value));
    a_bytes.push_back(Stored(a_types[m], a));
    b_bytes.push_back(Stored(DType::kF32, RandomFloats(outs[m] * ranks[m], 30 + m)));
  }
  for (int m = 0; m < 2; ++m) a_views.push_back({a_types[m], a_bytes[m].data(), ranks[m], in});
  for (ThreadPool* p : {&pool, static_cast<ThreadPool*>(nullptr)}) {
    std::vector<float> scratch(n * total_rank);
    LoraArgs shared{.x = x.data(),
                    .x_stride = in,
                    .n = n,
                    .scale = 1.5f,
                    .scratch = scratch.data(),
                    .scratch_stride = total_rank};
    LoraDownGroup(a_views, offsets, shared, p);
    for (int m = 0; m < 2; ++m) {
      const MatrixView b{DType::kF32, b_bytes[m].data(), outs[m], ranks[m]};
      std::vector<float> got = RandomFloats(n * outs[m], 40 + m), want = got;
      LoraArgs member = shared;
      member.y = got.data();
      member.y_stride = outs[m];
      member.scratch = scratch.data() + offsets[m];
      LoraUp(b, member, p);
      std::vector<float> own_scratch(n * ranks[m]);
      LoraReference(a_views[m], b,
                    {.x = x.data(),
                     .x_stride = in,
                     .y = want.data(),
                     .y_stride = outs[m],
                     .n = n,
                     .scale = 1.5f,
                     .scratch = own_scratch.data()});
      ExpectClose(got, want, 1e-4f, 1e-4f, "member " + std::to_string(m));
    }
  }
}

LORASHARE_INSTANTIATE_PER_TARGET(KvLoraKernelTest);

}  // namespace
}  // namespace lorashare

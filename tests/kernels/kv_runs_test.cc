// ForEachKvRun: the runs it names for positions [first, last) cover every
// byte KeyIndex, ValueIndex and the int8 scales address for those positions,
// stay inside the cache, and reach no position a key block beyond them.
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "kernels/attention.h"

namespace lorashare {
namespace {

struct Layout {
  DType dtype;
  int64_t kv_heads, head_dim, capacity;
};

class KvRunsTest : public ::testing::TestWithParam<Layout> {};

TEST_P(KvRunsTest, RunsCoverThePositionsWrittenAndStayInTheCache) {
  const Layout l = GetParam();
  const AttentionArgs args{.kv_dtype = l.dtype,
                           .n_kv_heads = l.kv_heads,
                           .head_dim = l.head_dim,
                           .capacity = l.capacity};
  const uint64_t cache_bytes = KvCacheBytes(l.dtype, l.kv_heads, l.head_dim, l.capacity);
  const uint64_t element = DTypeSize(l.dtype);
  const uint64_t scales = KvScalesOffset(l.kv_heads, l.head_dim, l.capacity);
  for (const auto& [first, last] : std::vector<std::pair<int64_t, int64_t>>{
           {0, 1}, {0, 19}, {5, 70}, {64, 65}, {100, l.capacity}, {0, l.capacity}}) {
    SCOPED_TRACE(testing::Message() << "positions [" << first << ", " << last << ")");
    for (bool keys : {true, false}) {
      std::vector<bool> covered(cache_bytes, false);
      ForEachKvRun(l.dtype, keys, l.kv_heads, l.head_dim, l.capacity, first, last,
                   [&](uint64_t offset, uint64_t bytes) {
                     ASSERT_LE(offset + bytes, cache_bytes);
                     for (uint64_t b = offset; b < offset + bytes; ++b) covered[b] = true;
                   });
      const int64_t dim = keys ? KvKeyDim(l.dtype, l.head_dim) : l.head_dim;
      for (int64_t h = 0; h < l.kv_heads; ++h) {
        for (int64_t p = 0; p < l.capacity; ++p) {
          // Every position in range is covered; none a whole key block outside it.
          const bool wanted = p >= first && p < last;
          const bool allowed = p >= first / kKeyBlock * kKeyBlock && p < KvCacheCapacity(last);
          for (int64_t e = 0; e < dim; ++e) {
            const int64_t index = keys ? KeyIndex(args, h, e, p) : ValueIndex(args, h, e, p);
            const uint64_t byte = static_cast<uint64_t>(index) * element;
            if (wanted) {
              ASSERT_TRUE(covered[byte]) << "head " << h << " position " << p;
            }
            if (!allowed) {
              ASSERT_FALSE(covered[byte]) << "head " << h << " position " << p;
            }
          }
          if (l.dtype == DType::kI8) {
            const uint64_t byte = scales + (h * l.capacity + p) * sizeof(float);
            if (wanted) {
              ASSERT_TRUE(covered[byte]) << "scale of " << h << ", " << p;
            }
            if (!allowed) {
              ASSERT_FALSE(covered[byte]) << "scale of " << h << ", " << p;
            }
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, KvRunsTest,
                         ::testing::Values(Layout{DType::kF32, 2, 8, 192},
                                           Layout{DType::kF16, 3, 16, 128},
                                           Layout{DType::kI8, 2, 6, 192}));

}  // namespace
}  // namespace lorashare

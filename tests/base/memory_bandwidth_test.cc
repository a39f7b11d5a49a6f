#include "base/memory_bandwidth.h"

#include <gtest/gtest.h>

namespace lorashare {
namespace {

TEST(MeasureReadBandwidth, ReadsTheWholeBufferAtAPositiveRate) {
  for (int threads : {1, 2}) {
    auto result = MeasureReadBandwidth(
        {.buffer_bytes = (uint64_t{64} << 20) + 63, .threads = threads, .passes = 2});
    ASSERT_TRUE(result.ok()) << result.error().message();
    EXPECT_EQ(result->buffer_bytes, uint64_t{64} << 20);  // whole 64-byte lines
    EXPECT_GT(result->best_bytes_per_s, 0);
    EXPECT_GT(result->mean_bytes_per_s, 0);
    EXPECT_GE(result->best_bytes_per_s, result->mean_bytes_per_s);
  }
}

TEST(MeasureReadBandwidth, RejectsBadOptions) {
  for (BandwidthOptions options : {BandwidthOptions{.buffer_bytes = 1 << 20, .threads = 0},
                                   BandwidthOptions{.buffer_bytes = 1 << 20, .passes = 0},
                                   BandwidthOptions{.buffer_bytes = 64 * 3, .threads = 4}}) {
    auto result = MeasureReadBandwidth(options);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(result.error().message().find("bandwidth"), std::string::npos);
  }
}

}  // namespace
}  // namespace lorashare

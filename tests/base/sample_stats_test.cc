#include "base/sample_stats.h"

#include <gtest/gtest.h>

#include <vector>

namespace lorashare {
namespace {

TEST(Summarize, OddCount) {
  // Mean 5; squared deviations 9 + 1 + 1 + 9 + 0 = 20 over n - 1 = 4: variance 5.
  const std::vector<double> samples = {8, 4, 2, 6, 5};
  const SampleStats s = Summarize(samples);
  EXPECT_DOUBLE_EQ(s.mean, 5);
  EXPECT_DOUBLE_EQ(s.median, 5);
  EXPECT_DOUBLE_EQ(s.stdev, 2.2360679774997898);  // sqrt(5)
  EXPECT_DOUBLE_EQ(s.min, 2);
  EXPECT_DOUBLE_EQ(s.max, 8);
}

TEST(Summarize, EvenCountTakesTheMiddleTwo) {
  const std::vector<double> samples = {10, 1, 4, 3};
  const SampleStats s = Summarize(samples);
  EXPECT_DOUBLE_EQ(s.mean, 4.5);
  EXPECT_DOUBLE_EQ(s.median, 3.5);
  // Squared deviations 30.25 + 12.25 + 0.25 + 2.25 = 45 over 3: variance 15.
  EXPECT_DOUBLE_EQ(s.stdev, 3.872983346207417);  // sqrt(15)
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 10);
}

TEST(Summarize, OneSampleHasNoSpread) {
  const std::vector<double> samples = {7.5};
  const SampleStats s = Summarize(samples);
  EXPECT_DOUBLE_EQ(s.mean, 7.5);
  EXPECT_DOUBLE_EQ(s.median, 7.5);
  EXPECT_DOUBLE_EQ(s.stdev, 0);
  EXPECT_DOUBLE_EQ(s.min, 7.5);
  EXPECT_DOUBLE_EQ(s.max, 7.5);
}

TEST(Summarize, NoSamplesIsAllZero) {
  const SampleStats s = Summarize({});
  EXPECT_EQ(s.mean, 0);
  EXPECT_EQ(s.median, 0);
  EXPECT_EQ(s.stdev, 0);
  EXPECT_EQ(s.min, 0);
  EXPECT_EQ(s.max, 0);
}

}  // namespace
}  // namespace lorashare

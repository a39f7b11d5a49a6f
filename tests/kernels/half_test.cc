// f16/bf16 conversions against numpy (f16) and against the definition of
// round-to-nearest-even (bf16).
#include "kernels/half.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

namespace lorashare {
namespace {

std::vector<uint8_t> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(HalfTest, F16MatchesNumpyBothWays) {
  const auto dir = std::filesystem::temp_directory_path() / "lorashare_half_test";
  std::filesystem::create_directories(dir);
  std::vector<float> samples = {0.0f,     -0.0f,    1.0f,    65504.0f, 65519.0f, 65520.0f, 1e-8f,
                                2.98e-8f, 5.96e-8f, 6.1e-5f, 1.0f / 3, INFINITY, -INFINITY};
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 20000; ++i) {
    const float f = BitsToF32(bits(rng));
    if (std::isfinite(f) && std::fabs(f) < 1e6f) samples.push_back(f);
    samples.push_back(std::ldexp(static_cast<float>(i % 2047) + 0.5f, (i % 40) - 35));
  }
  {
    std::ofstream out(dir / "samples.f32", std::ios::binary);
    out.write(reinterpret_cast<const char*>(samples.data()), samples.size() * 4);
  }
  const std::string script =
      "import numpy as np, sys; d = sys.argv[1]; "
      "np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32)"
      ".tofile(d + '/all.f32'); "
      "np.fromfile(d + '/samples.f32', dtype=np.float32).astype(np.float16).tofile(d + "
      "'/samples.f16')";
  ASSERT_EQ(std::system(("/usr/bin/python3 -c \"" + script + "\" " + dir.string()).c_str()), 0);

  const auto all = ReadFile(dir / "all.f32");
  ASSERT_EQ(all.size(), 65536u * 4);
  for (uint32_t h = 0; h < 65536; ++h) {
    uint32_t want;
    std::memcpy(&want, all.data() + 4 * h, 4);
    const uint32_t got = F32ToBits(F16ToF32(static_cast<uint16_t>(h)));
    if (std::isnan(BitsToF32(want))) {
      ASSERT_TRUE(std::isnan(BitsToF32(got))) << h;
    } else {
      ASSERT_EQ(got, want) << "f16 bits " << h;
    }
  }
  const auto rounded = ReadFile(dir / "samples.f16");
  ASSERT_EQ(rounded.size(), samples.size() * 2);
  for (size_t i = 0; i < samples.size(); ++i) {
    uint16_t want;
    std::memcpy(&want, rounded.data() + 2 * i, 2);
    ASSERT_EQ(F32ToF16(samples[i]), want) << "f32 " << samples[i];
  }
  std::filesystem::remove_all(dir);
}

TEST(HalfTest, BF16RoundsToNearestEven) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 100000; ++i) {
    const float f = BitsToF32(bits(rng) & (i % 2 ? 0xffffffffu : 0xffff8000u));
    if (!std::isfinite(f) || std::fabs(f) > 1e38f) continue;
    const uint16_t got = F32ToBF16(f);
    const uint16_t down = static_cast<uint16_t>(F32ToBits(f) >> 16);
    const double err_down = std::fabs(static_cast<double>(BF16ToF32(down)) - f);
    const double err_up = std::fabs(static_cast<double>(BF16ToF32(down + 1)) - f);
    const uint16_t want = err_down < err_up   ? down
                          : err_up < err_down ? down + 1
                          : (down & 1)        ? down + 1
                                              : down;
    ASSERT_EQ(got, want) << f;
  }
  EXPECT_TRUE(std::isnan(BF16ToF32(F32ToBF16(NAN))));
}

}  // namespace
}  // namespace lorashare

// Runs a test once per Highway target that this build compiled and this CPU
// supports, with the kernels forced onto that target, and compares against
// the scalar references.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hwy/targets.h"
#include "kernels/dispatch.h"
#include "kernels/matmul.h"

namespace lorashare {

class PerTargetTest : public ::testing::TestWithParam<int64_t> {
 protected:
  void SetUp() override {
    hwy::SetSupportedTargetsForTest(GetParam());
    // Proves the dispatched kernels really run on the target under test.
    ASSERT_STREQ(KernelTargetName(), hwy::TargetName(GetParam()));
  }
  void TearDown() override { hwy::SetSupportedTargetsForTest(0); }
};

inline std::string TargetTestName(const ::testing::TestParamInfo<int64_t>& info) {
  return hwy::TargetName(info.param);
}

// The targets this build compiled that this CPU supports, and AVX3_DL
// (AVX-512 VNNI) where the CPU has it: the matmul and attention kernels ask
// Highway for it, the test files do not.
inline std::vector<int64_t> KernelTargets() {
  std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  const bool listed = std::find(targets.begin(), targets.end(), HWY_AVX3_DL) != targets.end();
  if ((hwy::SupportedTargets() & HWY_AVX3_DL) && !listed)
    targets.insert(targets.begin(), HWY_AVX3_DL);
  return targets;
}

#define LORASHARE_INSTANTIATE_PER_TARGET(suite) \
  INSTANTIATE_TEST_SUITE_P(Targets, suite, ::testing::ValuesIn(KernelTargets()), TargetTestName)

inline std::vector<float> RandomFloats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// |got - want| <= abs_tol + rel_tol * |want| for every element.
inline void ExpectClose(const std::vector<float>& got, const std::vector<float>& want,
                        float rel_tol, float abs_tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_LE(std::fabs(got[i] - want[i]), abs_tol + rel_tol * std::fabs(want[i]))
        << what << " element " << i << ": got " << got[i] << " want " << want[i];
  }
}

// MatMul on `pool` (into got) and its scalar reference (into want), both
// outputs starting as `y`; args.y is ignored.
struct MatMulOutputs {
  std::vector<float> got, want;
};
inline MatMulOutputs MatMulAndReference(const MatrixView& w, MatMulArgs args, std::vector<float> y,
                                        ThreadPool* pool) {
  MatMulOutputs out{y, std::move(y)};
  args.y = out.got.data();
  MatMul(w, args, pool);
  args.y = out.want.data();
  MatMulReference(w, args);
  return out;
}

}  // namespace lorashare

#include "kernels/norm.h"

#include <cmath>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/norm.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/simd-inl.h"

HWY_BEFORE_NAMESPACE();
namespace lorashare {
namespace HWY_NAMESPACE {

void RmsNormTarget(const RmsNormArgs& a) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const int64_t groups = a.n * (a.width / a.group);
  for (int64_t g = 0; g < groups; ++g) {
    const float* x = a.x + g * a.group;
    float* y = a.y + g * a.group;
    const float sum_squares = Dot(x, x, a.group);
    const float inv = 1.0f / std::sqrt(sum_squares / static_cast<float>(a.group) + a.eps);
    const VF vinv = hn::Set(df, inv);
    int64_t i = 0;
    for (; i + lanes <= a.group; i += lanes) {
      const VF v = hn::Mul(hn::Mul(hn::LoadU(df, x + i), vinv), hn::LoadU(df, a.weight + i));
      hn::StoreU(v, df, y + i);
    }
    for (; i < a.group; ++i) y[i] = x[i] * inv * a.weight[i];
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace lorashare
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lorashare {

HWY_EXPORT(RmsNormTarget);

void RmsNorm(const RmsNormArgs& args) { HWY_DYNAMIC_DISPATCH(RmsNormTarget)(args); }

void RmsNormReference(const RmsNormArgs& a) {
  const int64_t groups = a.n * (a.width / a.group);
  for (int64_t g = 0; g < groups; ++g) {
    const float* x = a.x + g * a.group;
    float* y = a.y + g * a.group;
    double sum = 0;
    for (int64_t i = 0; i < a.group; ++i) sum += static_cast<double>(x[i]) * x[i];
    const double inv = 1.0 / std::sqrt(sum / static_cast<double>(a.group) + a.eps);
    for (int64_t i = 0; i < a.group; ++i) y[i] = static_cast<float>(x[i] * inv * a.weight[i]);
  }
}

}  // namespace lorashare
#endif  // HWY_ONCE

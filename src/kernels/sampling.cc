#include "kernels/sampling.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/sampling.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "kernels/simd-inl.h"

HWY_BEFORE_NAMESPACE();
namespace lorashare {
namespace HWY_NAMESPACE {

// x[i] with NaN as -inf, so it never wins.
HWY_INLINE VF Ordered(DF df, const float* x) {
  const VF v = hn::LoadU(df, x);
  return hn::IfThenElse(hn::IsNaN(v), hn::Set(df, -INFINITY), v);
}

size_t ArgMaxTarget(const float* x, size_t n) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  // Four independent maximum chains: one Max per cycle instead of one per
  // latency. (Named, not an array: SVE vectors cannot form arrays.)
  VF best0 = hn::Set(df, -INFINITY), best1 = best0, best2 = best0, best3 = best0;
  size_t i = 0;
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    best0 = hn::Max(best0, Ordered(df, x + i));
    best1 = hn::Max(best1, Ordered(df, x + i + lanes));
    best2 = hn::Max(best2, Ordered(df, x + i + 2 * lanes));
    best3 = hn::Max(best3, Ordered(df, x + i + 3 * lanes));
  }
  for (; i + lanes <= n; i += lanes) best0 = hn::Max(best0, Ordered(df, x + i));
  best0 = hn::Max(hn::Max(best0, best1), hn::Max(best2, best3));
  float max = hn::GetLane(hn::MaxOfLanes(df, best0));
  for (; i < n; ++i) max = std::isnan(x[i]) ? max : std::max(max, x[i]);
  // The first position holding it (none when every value is NaN).
  const VF target = hn::Set(df, max);
  for (i = 0; i + lanes <= n; i += lanes) {
    const intptr_t first = hn::FindFirstTrue(df, hn::Eq(hn::LoadU(df, x + i), target));
    if (first >= 0) return i + static_cast<size_t>(first);
  }
  for (; i < n; ++i) {
    if (x[i] == max) return i;
  }
  return 0;
}

double ExpWeightsTarget(const float* logits, size_t n, float max_logit, double inverse_temperature,
                        double* weights) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> df;
  const size_t lanes = hn::Lanes(dd);
  const auto max = hn::Set(dd, max_logit), scale = hn::Set(dd, inverse_temperature);
  auto total = hn::Zero(dd);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto distance =
        hn::Mul(hn::Sub(hn::PromoteTo(dd, hn::LoadU(df, logits + i)), max), scale);
    const auto w = hn::Exp(dd, distance);
    hn::StoreU(w, dd, weights + i);
    total = hn::Add(total, w);
  }
  double sum = hn::GetLane(hn::SumOfLanes(dd, total));
  for (; i < n; ++i) {
    weights[i] = std::exp((static_cast<double>(logits[i]) - max_logit) * inverse_temperature);
    sum += weights[i];
  }
  return sum;
}

}  // namespace HWY_NAMESPACE
}  // namespace lorashare
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lorashare {

HWY_EXPORT(ArgMaxTarget);
HWY_EXPORT(ExpWeightsTarget);

size_t ArgMax(const float* x, size_t n) { return HWY_DYNAMIC_DISPATCH(ArgMaxTarget)(x, n); }

size_t ArgMaxReference(const float* x, size_t n) {
  size_t best = 0;
  bool found = false;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isnan(x[i]) && (!found || x[i] > x[best])) {
      best = i;
      found = true;
    }
  }
  return best;
}

double ExpWeights(const float* logits, size_t n, float max_logit, double inverse_temperature,
                  double* weights) {
  return HWY_DYNAMIC_DISPATCH(ExpWeightsTarget)(logits, n, max_logit, inverse_temperature, weights);
}

double ExpWeightsReference(const float* logits, size_t n, float max_logit,
                           double inverse_temperature, double* weights) {
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    weights[i] = std::exp((static_cast<double>(logits[i]) - max_logit) * inverse_temperature);
    sum += weights[i];
  }
  return sum;
}

}  // namespace lorashare
#endif  // HWY_ONCE

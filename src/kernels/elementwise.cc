#include "kernels/elementwise.h"

#include <cmath>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/elementwise.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "kernels/simd-inl.h"

HWY_BEFORE_NAMESPACE();
namespace lorashare {
namespace HWY_NAMESPACE {

void SwiGluTarget(const float* gate, const float* up, size_t n, float* y) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  const VF one = hn::Set(df, 1.0f);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const VF g = hn::LoadU(df, gate + i);
    const VF silu = hn::Div(g, hn::Add(one, hn::Exp(df, hn::Neg(g))));
    hn::StoreU(hn::Mul(silu, hn::LoadU(df, up + i)), df, y + i);
  }
  for (; i < n; ++i) y[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void AddTarget(const float* a, const float* b, size_t n, float* y) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(hn::Add(hn::LoadU(df, a + i), hn::LoadU(df, b + i)), df, y + i);
  }
  for (; i < n; ++i) y[i] = a[i] + b[i];
}

}  // namespace HWY_NAMESPACE
}  // namespace lorashare
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lorashare {

HWY_EXPORT(SwiGluTarget);
HWY_EXPORT(AddTarget);

void SwiGlu(const float* gate, const float* up, size_t n, float* y) {
  HWY_DYNAMIC_DISPATCH(SwiGluTarget)(gate, up, n, y);
}

void SwiGluReference(const float* gate, const float* up, size_t n, float* y) {
  for (size_t i = 0; i < n; ++i) {
    const double g = gate[i];
    y[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * up[i]);
  }
}

void Add(const float* a, const float* b, size_t n, float* y) {
  HWY_DYNAMIC_DISPATCH(AddTarget)(a, b, n, y);
}

void AddReference(const float* a, const float* b, size_t n, float* y) {
  for (size_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

}  // namespace lorashare
#endif  // HWY_ONCE

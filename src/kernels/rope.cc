#include "kernels/rope.h"

#include <cmath>
#include <numbers>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/rope.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/simd-inl.h"

HWY_BEFORE_NAMESPACE();
namespace lorashare {
namespace HWY_NAMESPACE {

// `a.cos` and `a.sin` set.
void RopeTarget(const RopeFrequencies& freqs, const RopeArgs& a) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const int64_t half = freqs.head_dim() / 2;
  for (int64_t t = 0; t < a.n; ++t) {
    const float* cos = a.cos + t * half;
    const float* sin = a.sin + t * half;
    for (int64_t h = 0; h < a.n_heads; ++h) {
      float* x1 = a.x + (t * a.n_heads + h) * freqs.head_dim();
      float* x2 = x1 + half;
      int64_t i = 0;
      for (; i + lanes <= half; i += lanes) {
        const VF c = hn::LoadU(df, cos + i), s = hn::LoadU(df, sin + i);
        const VF v1 = hn::LoadU(df, x1 + i), v2 = hn::LoadU(df, x2 + i);
        hn::StoreU(hn::NegMulAdd(v2, s, hn::Mul(v1, c)), df, x1 + i);
        hn::StoreU(hn::MulAdd(v1, s, hn::Mul(v2, c)), df, x2 + i);
      }
      for (; i < half; ++i) {
        const float v1 = x1[i], v2 = x2[i];
        x1[i] = v1 * cos[i] - v2 * sin[i];
        x2[i] = v2 * cos[i] + v1 * sin[i];
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace lorashare
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lorashare {

HWY_EXPORT(RopeTarget);

RopeFrequencies::RopeFrequencies(int64_t head_dim, float theta, const RopeScaling& scaling)
    : head_dim_(head_dim), inv_freq_(head_dim / 2) {
  const double low_wavelen = scaling.original_max_position / scaling.low_freq_factor;
  const double high_wavelen = scaling.original_max_position / scaling.high_freq_factor;
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    double freq = std::pow(static_cast<double>(theta), -2.0 * i / static_cast<double>(head_dim));
    if (scaling.enabled) {
      const double wavelen = 2 * std::numbers::pi / freq;
      if (wavelen > low_wavelen) {
        freq /= scaling.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (scaling.original_max_position / wavelen - scaling.low_freq_factor) /
                              (scaling.high_freq_factor - scaling.low_freq_factor);
        freq = (1 - smooth) * freq / scaling.factor + smooth * freq;
      }
    }
    inv_freq_[i] = freq;
  }
}

void RopeFrequencies::Angles(int64_t position, float* cos_out, float* sin_out) const {
  for (size_t i = 0; i < inv_freq_.size(); ++i) {
    const double angle = static_cast<double>(position) * inv_freq_[i];
    cos_out[i] = static_cast<float>(std::cos(angle));
    sin_out[i] = static_cast<float>(std::sin(angle));
  }
}

void Rope(const RopeFrequencies& freqs, const RopeArgs& args) {
  if (args.cos != nullptr) return HWY_DYNAMIC_DISPATCH(RopeTarget)(freqs, args);
  const int64_t half = freqs.head_dim() / 2;
  std::vector<float> cos(args.n * half), sin(args.n * half);
  for (int64_t t = 0; t < args.n; ++t) {
    freqs.Angles(args.start_position + t, cos.data() + t * half, sin.data() + t * half);
  }
  RopeArgs with_angles = args;
  with_angles.cos = cos.data();
  with_angles.sin = sin.data();
  HWY_DYNAMIC_DISPATCH(RopeTarget)(freqs, with_angles);
}

void RopeReference(const RopeFrequencies& freqs, const RopeArgs& a) {
  const int64_t half = freqs.head_dim() / 2;
  for (int64_t t = 0; t < a.n; ++t) {
    for (int64_t h = 0; h < a.n_heads; ++h) {
      float* x = a.x + (t * a.n_heads + h) * freqs.head_dim();
      for (int64_t i = 0; i < half; ++i) {
        const double angle = static_cast<double>(a.start_position + t) * freqs.inv_freq()[i];
        const double v1 = x[i], v2 = x[i + half];
        x[i] = static_cast<float>(v1 * std::cos(angle) - v2 * std::sin(angle));
        x[i + half] = static_cast<float>(v2 * std::cos(angle) + v1 * std::sin(angle));
      }
    }
  }
}

}  // namespace lorashare
#endif  // HWY_ONCE

#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/attention.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "kernels/simd-inl.h"

HWY_BEFORE_NAMESPACE();
namespace lorashare {
namespace HWY_NAMESPACE {

// Attention for (token, head) pairs [begin, end), numbered token * n_heads + head.
void AttentionTarget(const AttentionArgs& a, int64_t begin, int64_t end) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const int64_t hd = a.head_dim;
  const int64_t kv_width = a.n_kv_heads * hd;
  const int64_t group = a.n_heads / a.n_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  std::vector<float> scores(a.start_position + a.n);
  for (int64_t pair = begin; pair < end; ++pair) {
    const int64_t t = pair / a.n_heads, h = pair % a.n_heads;
    const int64_t len = a.start_position + t + 1;
    const float* q = a.q + pair * hd;
    const float* k = a.k_cache + (h / group) * hd;
    const float* v = a.v_cache + (h / group) * hd;
    float max_score = -INFINITY;
    for (int64_t j = 0; j < len; ++j) {
      scores[j] = Dot(q, k + j * kv_width, hd) * scale;
      max_score = std::max(max_score, scores[j]);
    }
    const VF vmax = hn::Set(df, max_score);
    VF vsum = hn::Zero(df);
    int64_t j = 0;
    for (; j + lanes <= len; j += lanes) {
      const VF e = hn::Exp(df, hn::Sub(hn::LoadU(df, scores.data() + j), vmax));
      hn::StoreU(e, df, scores.data() + j);
      vsum = hn::Add(vsum, e);
    }
    float sum = SumLanes(df, vsum);
    for (; j < len; ++j) {
      scores[j] = std::exp(scores[j] - max_score);
      sum += scores[j];
    }
    float* out = a.out + pair * hd;
    std::fill(out, out + hd, 0.0f);
    for (int64_t s = 0; s < len; ++s) {
      const VF p = hn::Set(df, scores[s] / sum);
      const float* vs = v + s * kv_width;
      int64_t i = 0;
      for (; i + lanes <= hd; i += lanes) {
        hn::StoreU(hn::MulAdd(p, hn::LoadU(df, vs + i), hn::LoadU(df, out + i)), df, out + i);
      }
      for (; i < hd; ++i) out[i] += scores[s] / sum * vs[i];
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace lorashare
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lorashare {

HWY_EXPORT(AttentionTarget);

void Attention(const AttentionArgs& args, ThreadPool* pool) {
  ParallelFor(pool, args.n * args.n_heads, [&](int64_t begin, int64_t end) {
    HWY_DYNAMIC_DISPATCH(AttentionTarget)(args, begin, end);
  });
}

void AttentionReference(const AttentionArgs& a) {
  const int64_t hd = a.head_dim;
  const int64_t kv_width = a.n_kv_heads * hd;
  const int64_t group = a.n_heads / a.n_kv_heads;
  std::vector<double> scores;
  for (int64_t t = 0; t < a.n; ++t) {
    for (int64_t h = 0; h < a.n_heads; ++h) {
      const int64_t len = a.start_position + t + 1;
      const float* q = a.q + (t * a.n_heads + h) * hd;
      const float* k = a.k_cache + (h / group) * hd;
      const float* v = a.v_cache + (h / group) * hd;
      scores.assign(len, 0.0);
      double max_score = -INFINITY;
      for (int64_t j = 0; j < len; ++j) {
        for (int64_t i = 0; i < hd; ++i)
          scores[j] += static_cast<double>(q[i]) * k[j * kv_width + i];
        scores[j] /= std::sqrt(static_cast<double>(hd));
        max_score = std::max(max_score, scores[j]);
      }
      double sum = 0;
      for (double& s : scores) sum += (s = std::exp(s - max_score));
      float* out = a.out + (t * a.n_heads + h) * hd;
      for (int64_t i = 0; i < hd; ++i) {
        double acc = 0;
        for (int64_t j = 0; j < len; ++j) acc += scores[j] * v[j * kv_width + i];
        out[i] = static_cast<float>(acc / sum);
      }
    }
  }
}

}  // namespace lorashare
#endif  // HWY_ONCE

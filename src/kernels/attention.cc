#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
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
namespace {

// Dot product of f32 q with a cache row of T.
template <typename T>
HWY_INLINE float DotRow(const float* HWY_RESTRICT q, const T* HWY_RESTRICT k, int64_t n) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  VF acc = hn::Zero(df);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes)
    acc = hn::MulAdd(hn::LoadU(df, q + i), LoadF32(df, k + i), acc);
  float sum = SumLanes(df, acc);
  for (; i < n; ++i) sum += q[i] * ScalarF32(k[i]);
  return sum;
}

// Attention for (token, head) pairs [begin, end), numbered token * n_heads + head.
template <typename T>
void AttentionPairs(const AttentionArgs& a, int64_t begin, int64_t end) {
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
    const T* k = static_cast<const T*>(a.k_cache) + (h / group) * hd;
    const T* v = static_cast<const T*>(a.v_cache) + (h / group) * hd;
    float max_score = -INFINITY;
    for (int64_t j = 0; j < len; ++j) {
      scores[j] = DotRow(q, k + j * kv_width, hd) * scale;
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
      const float weight = scores[s] / sum;
      const VF p = hn::Set(df, weight);
      const T* vs = v + s * kv_width;
      int64_t i = 0;
      for (; i + lanes <= hd; i += lanes) {
        hn::StoreU(hn::MulAdd(p, LoadF32(df, vs + i), hn::LoadU(df, out + i)), df, out + i);
      }
      for (; i < hd; ++i) out[i] += weight * ScalarF32(vs[i]);
    }
  }
}

}  // namespace

void AttentionTarget(const AttentionArgs& a, int64_t begin, int64_t end) {
  if (a.kv_dtype == DType::kF16) return AttentionPairs<hwy::float16_t>(a, begin, end);
  AttentionPairs<float>(a, begin, end);
}

void StoreF16Target(const float* src, size_t count, uint16_t* dst) {
  size_t i = 0;
  // F16C (AVX2 and up) rounds to nearest even; Highway's emulation on older
  // targets truncates, so those use the scalar conversion.
#if HWY_TARGET <= HWY_AVX2
  const DF df;
  const hn::Rebind<hwy::float16_t, DF> dh;
  const size_t lanes = hn::Lanes(df);
  auto* out = reinterpret_cast<hwy::float16_t*>(dst);
  for (; i + lanes <= count; i += lanes) {
    hn::StoreU(hn::DemoteTo(dh, hn::LoadU(df, src + i)), dh, out + i);
  }
#endif
  for (; i < count; ++i) dst[i] = F32ToF16(src[i]);
}

}  // namespace HWY_NAMESPACE
}  // namespace lorashare
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lorashare {

HWY_EXPORT(AttentionTarget);
HWY_EXPORT(StoreF16Target);

void Attention(const AttentionArgs& args, ThreadPool* pool) {
  ParallelFor(pool, args.n * args.n_heads, [&](int64_t begin, int64_t end) {
    HWY_DYNAMIC_DISPATCH(AttentionTarget)(args, begin, end);
  });
}

void StoreKvRows(const float* src, size_t count, DType dtype, void* dst) {
  if (dtype == DType::kF16) {
    HWY_DYNAMIC_DISPATCH(StoreF16Target)(src, count, static_cast<uint16_t*>(dst));
  } else {
    std::memcpy(dst, src, count * sizeof(float));
  }
}

namespace {

double CacheAt(const AttentionArgs& a, const void* cache, int64_t index) {
  if (a.kv_dtype == DType::kF16) return F16ToF32(static_cast<const uint16_t*>(cache)[index]);
  return static_cast<const float*>(cache)[index];
}

}  // namespace

void AttentionReference(const AttentionArgs& a) {
  const int64_t hd = a.head_dim;
  const int64_t kv_width = a.n_kv_heads * hd;
  const int64_t group = a.n_heads / a.n_kv_heads;
  std::vector<double> scores;
  for (int64_t t = 0; t < a.n; ++t) {
    for (int64_t h = 0; h < a.n_heads; ++h) {
      const int64_t len = a.start_position + t + 1;
      const float* q = a.q + (t * a.n_heads + h) * hd;
      const int64_t head = (h / group) * hd;
      scores.assign(len, 0.0);
      double max_score = -INFINITY;
      for (int64_t j = 0; j < len; ++j) {
        for (int64_t i = 0; i < hd; ++i)
          scores[j] += static_cast<double>(q[i]) * CacheAt(a, a.k_cache, j * kv_width + head + i);
        scores[j] /= std::sqrt(static_cast<double>(hd));
        max_score = std::max(max_score, scores[j]);
      }
      double sum = 0;
      for (double& s : scores) sum += (s = std::exp(s - max_score));
      float* out = a.out + (t * a.n_heads + h) * hd;
      for (int64_t i = 0; i < hd; ++i) {
        double acc = 0;
        for (int64_t j = 0; j < len; ++j)
          acc += scores[j] * CacheAt(a, a.v_cache, j * kv_width + head + i);
        out[i] = static_cast<float>(acc / sum);
      }
    }
  }
}

}  // namespace lorashare
#endif  // HWY_ONCE

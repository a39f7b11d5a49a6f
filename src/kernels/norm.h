// RmsNorm: y = x / sqrt(mean(x^2) + eps) * weight, over groups of `group`
// elements (the whole row, or each head for Qwen3's q/k norm; the weight has
// `group` elements and is shared by every group).
#pragma once

#include <cstdint>

namespace lorashare {

struct RmsNormArgs {
  const float* x = nullptr;  // [n, width]; may equal y
  float* y = nullptr;
  int64_t n = 0;
  int64_t width = 0;  // a multiple of group
  int64_t group = 0;
  const float* weight = nullptr;  // [group]
  float eps = 1e-5f;
};

void RmsNorm(const RmsNormArgs& args);
void RmsNormReference(const RmsNormArgs& args);

}  // namespace lorashare

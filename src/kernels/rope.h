// Rotary position embedding, rotate-half (Hugging Face) layout: within each
// head, element i pairs with element i + head_dim/2.
//
// RopeFrequencies holds the per-pair inverse frequencies, with Llama 3.1's
// frequency-dependent scaling applied when enabled (long wavelengths divided
// by `factor`, short ones kept, a smooth blend in between).
#pragma once

#include <cstdint>
#include <vector>

#include "format/model_config.h"

namespace lorashare {

class RopeFrequencies {
 public:
  RopeFrequencies(int64_t head_dim, float theta, const RopeScaling& scaling);

  int64_t head_dim() const { return head_dim_; }
  const std::vector<double>& inv_freq() const { return inv_freq_; }
  // cos and sin of position * inv_freq, head_dim/2 each.
  void Angles(int64_t position, float* cos_out, float* sin_out) const;

 private:
  int64_t head_dim_;
  std::vector<double> inv_freq_;
};

struct RopeArgs {
  float* x = nullptr;  // [n, n_heads * head_dim], rotated in place
  int64_t n = 0;
  int64_t n_heads = 0;
  int64_t start_position = 0;  // token t is at start_position + t
  // Token t's angles, RopeFrequencies::Angles(start_position + t) at
  // [t * head_dim / 2, ...). A forward pass computes them once for every
  // layer; null: Rope computes them itself.
  const float* cos = nullptr;
  const float* sin = nullptr;
};

void Rope(const RopeFrequencies& freqs, const RopeArgs& args);
void RopeReference(const RopeFrequencies& freqs, const RopeArgs& args);

}  // namespace lorashare

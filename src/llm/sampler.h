// Sampler: picks the next token from a model's logits.
//
// Temperature 0 is greedy (argmax, lowest id on ties). Otherwise the logits
// are divided by the temperature, turned into probabilities (softmax), cut to
// the nucleus (top-p: the most probable tokens whose probabilities first reach
// top_p together) and one token is drawn from what remains. The random stream
// comes from the seed alone (mt19937_64), so a seed replays the same tokens.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "base/result.h"

namespace lorashare {

struct SamplerOptions {
  float temperature = 0.0f;  // 0: greedy
  float top_p = 1.0f;        // in (0, 1]; 1 keeps every token
  uint64_t seed = 0;
};

struct TokenProbability {
  int32_t id = 0;
  double probability = 0;
};

class Sampler {
 public:
  // Fails with kInvalidArgument for a negative or non-finite temperature or
  // a top_p outside (0, 1].
  static Result<Sampler> Create(const SamplerOptions& options);

  // Fails with kInvalidArgument for empty logits.
  Result<int32_t> Sample(std::span<const float> logits);

  // The distribution Sample() draws from: the nucleus, most probable first
  // (lowest id first on ties), renormalised to sum to 1. Greedy: the argmax
  // alone.
  std::vector<TokenProbability> Nucleus(std::span<const float> logits) const;

  bool greedy() const { return options_.temperature == 0.0f; }

 private:
  explicit Sampler(const SamplerOptions& options) : options_(options), rng_(options.seed) {}

  // A uniform double in [0, 1) from the next 53 bits of the stream.
  double NextUniform();

  SamplerOptions options_;
  std::mt19937_64 rng_;
};

// Index of the largest logit; the lowest index among equal maxima
// (kernels/sampling.h).
int32_t ArgMax(std::span<const float> logits);

}  // namespace lorashare

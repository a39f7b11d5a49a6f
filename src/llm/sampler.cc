#include "llm/sampler.h"

#include <algorithm>
#include <cmath>

#include "kernels/argmax.h"

namespace lorashare {

int32_t ArgMax(std::span<const float> logits) {
  return static_cast<int32_t>(ArgMax(logits.data(), logits.size()));
}

Result<Sampler> Sampler::Create(const SamplerOptions& options) {
  if (!std::isfinite(options.temperature) || options.temperature < 0.0f) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "temperature {} is invalid: expected a finite value >= 0 (0 = greedy)",
                     options.temperature);
  }
  if (!(options.top_p > 0.0f && options.top_p <= 1.0f)) {
    return MakeError(ErrorCode::kInvalidArgument, "top_p {} is invalid: expected 0 < top_p <= 1",
                     options.top_p);
  }
  return Sampler(options);
}

std::vector<TokenProbability> Sampler::Nucleus(std::span<const float> logits) const {
  if (logits.empty()) return {};
  if (greedy()) return {{ArgMax(logits), 1.0}};
  std::vector<TokenProbability> tokens(logits.size());
  // Softmax of logits / temperature, shifted by the maximum so exp() cannot
  // overflow; computed in double so tiny probabilities keep their order.
  float max_logit = logits[ArgMax(logits)];
  double inverse_temperature = 1.0 / options_.temperature;
  double total = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    double weight = std::exp((static_cast<double>(logits[i]) - max_logit) * inverse_temperature);
    tokens[i] = {static_cast<int32_t>(i), weight};
    total += weight;
  }
  std::stable_sort(tokens.begin(), tokens.end(),
                   [](const TokenProbability& a, const TokenProbability& b) {
                     return a.probability > b.probability;
                   });
  double kept = 0;
  size_t count = options_.top_p < 1.0f ? 0 : tokens.size();
  while (count < tokens.size()) {
    kept += tokens[count].probability / total;
    ++count;
    if (kept >= options_.top_p) break;
  }
  tokens.resize(count);
  double kept_weight = 0;
  for (const TokenProbability& token : tokens) kept_weight += token.probability;
  for (TokenProbability& token : tokens) token.probability /= kept_weight;
  return tokens;
}

double Sampler::NextUniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

Result<int32_t> Sampler::Sample(std::span<const float> logits) {
  if (logits.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "sampler: no logits to sample from");
  }
  if (greedy()) return ArgMax(logits);
  std::vector<TokenProbability> nucleus = Nucleus(logits);
  double target = NextUniform();
  double cumulative = 0;
  for (const TokenProbability& token : nucleus) {
    cumulative += token.probability;
    if (target < cumulative) return token.id;
  }
  return nucleus.back().id;  // rounding left target just above the sum
}

}  // namespace lorashare

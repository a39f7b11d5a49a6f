#include "llm/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/sampling.h"

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

namespace {

// Weights fall in buckets by their logarithm, kBucketsPerE to a factor of e
// (the last bucket holds every weight below e^-(kBuckets / kBucketsPerE)).
constexpr int kBucketsPerE = 4;
constexpr int kBuckets = 4096;

// exp((logit - max) / temperature) per token, in double so tiny
// probabilities keep their order, and their sum.
struct Weights {
  std::vector<double> weight;
  double total = 0;
  float max_logit = 0;
  double inverse_temperature = 0;
};

Weights WeightsOf(std::span<const float> logits, double temperature) {
  Weights w{std::vector<double>(logits.size()), 0, logits[ArgMax(logits)], 1.0 / temperature};
  w.total =
      ExpWeights(logits.data(), logits.size(), w.max_logit, w.inverse_temperature, w.weight.data());
  return w;
}

// The tokens of the heaviest buckets that together hold `mass` of the
// total, most probable first (lowest id first on ties). They begin the fully
// sorted list, so a nucleus of that mass lies within them, and only they are
// sorted: a vocabulary of 128K sorted whole took 10 ms a token.
std::vector<TokenProbability> HeaviestHolding(std::span<const float> logits, const Weights& w,
                                              double mass) {
  std::vector<uint16_t> bucket(logits.size());
  std::vector<double> bucket_mass(kBuckets);
  for (size_t i = 0; i < logits.size(); ++i) {
    // NaN for a NaN logit: the last bucket.
    const double b =
        (w.max_logit - static_cast<double>(logits[i])) * w.inverse_temperature * kBucketsPerE;
    bucket[i] = static_cast<uint16_t>(b < kBuckets - 1 ? b : kBuckets - 1);
    bucket_mass[bucket[i]] += w.weight[i];
  }
  int last = 0;
  for (double held = bucket_mass[0]; held < mass && last + 1 < kBuckets;) {
    held += bucket_mass[++last];
  }
  std::vector<TokenProbability> tokens;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (bucket[i] <= last) tokens.push_back({static_cast<int32_t>(i), w.weight[i]});
  }
  std::stable_sort(tokens.begin(), tokens.end(),
                   [](const TokenProbability& a, const TokenProbability& b) {
                     return a.probability > b.probability;
                   });
  return tokens;
}

}  // namespace

std::vector<TokenProbability> Sampler::Nucleus(std::span<const float> logits) const {
  if (logits.empty()) return {};
  if (greedy()) return {{ArgMax(logits), 1.0}};
  const Weights w = WeightsOf(logits, options_.temperature);
  // The margin covers the sums' rounding in other orders (about 1e-11 of the
  // total at 128K tokens); top_p 1 keeps every token.
  const double mass = options_.top_p < 1.0f ? options_.top_p * w.total * (1 + 1e-9) : INFINITY;
  std::vector<TokenProbability> tokens = HeaviestHolding(logits, w, mass);
  double kept = 0;
  size_t count = options_.top_p < 1.0f ? 0 : tokens.size();
  while (count < tokens.size()) {
    kept += tokens[count].probability / w.total;
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
  const double target = NextUniform();
  if (options_.top_p >= 1.0f) {
    // Every token: no order is needed to draw, so none is made.
    const Weights w = WeightsOf(logits, options_.temperature);
    double cumulative = 0;
    for (size_t i = 0; i < logits.size(); ++i) {
      cumulative += w.weight[i];
      if (target * w.total < cumulative) return static_cast<int32_t>(i);
    }
    return static_cast<int32_t>(ArgMax(logits));  // rounding left target just above the sum
  }
  std::vector<TokenProbability> nucleus = Nucleus(logits);
  double cumulative = 0;
  for (const TokenProbability& token : nucleus) {
    cumulative += token.probability;
    if (target < cumulative) return token.id;
  }
  return nucleus.back().id;  // rounding left target just above the sum
}

}  // namespace lorashare

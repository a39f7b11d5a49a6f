#include "llm/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

namespace lorashare {
namespace {

std::vector<float> RandomLogits(size_t count, uint32_t seed, float spread) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> logits(count);
  for (float& logit : logits) logit = normal(rng);
  return logits;
}

Sampler MakeSampler(float temperature, float top_p, uint64_t seed) {
  auto sampler = Sampler::Create({.temperature = temperature, .top_p = top_p, .seed = seed});
  EXPECT_TRUE(sampler.ok()) << sampler.error().message();
  return std::move(sampler).value();
}

// The nucleus computed directly from its definition: probabilities of
// softmax(logits / T), sorted descending; the shortest prefix whose sum
// reaches top_p (all of them for top_p 1); renormalised.
std::map<int32_t, double> DirectNucleus(const std::vector<float>& logits, double temperature,
                                        double top_p) {
  std::vector<std::pair<double, int32_t>> probs;
  double total = 0;
  for (size_t i = 0; i < logits.size(); ++i) total += std::exp(logits[i] / temperature);
  for (size_t i = 0; i < logits.size(); ++i) {
    probs.push_back({std::exp(logits[i] / temperature) / total, static_cast<int32_t>(i)});
  }
  std::sort(probs.begin(), probs.end(), [](auto& a, auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  std::map<int32_t, double> nucleus;
  double sum = 0;
  for (auto& [p, id] : probs) {
    nucleus[id] = p;
    sum += p;
    if (top_p < 1 && sum >= top_p) break;
  }
  for (auto& [id, p] : nucleus) p /= sum;
  return nucleus;
}

TEST(Sampler, GreedyIsArgMax) {
  Sampler sampler = MakeSampler(0.0f, 0.5f, 7);
  EXPECT_TRUE(sampler.greedy());
  for (uint32_t seed = 0; seed < 50; ++seed) {
    std::vector<float> logits = RandomLogits(1000, seed, 3.0f);
    int32_t expected = 0;
    for (size_t i = 1; i < logits.size(); ++i) {
      if (logits[i] > logits[expected]) expected = static_cast<int32_t>(i);
    }
    auto token = sampler.Sample(logits);
    ASSERT_TRUE(token.ok());
    EXPECT_EQ(*token, expected);
  }
}

TEST(Sampler, GreedyTiesPickLowestId) {
  Sampler sampler = MakeSampler(0.0f, 1.0f, 0);
  std::vector<float> logits = {1.0f, 5.0f, -2.0f, 5.0f};
  EXPECT_EQ(*sampler.Sample(logits), 1);
  EXPECT_EQ(sampler.Nucleus(logits).size(), 1u);
  EXPECT_EQ(sampler.Nucleus(logits)[0].id, 1);
}

TEST(Sampler, SameSeedSameSequence) {
  std::vector<float> logits = RandomLogits(300, 1, 1.0f);
  auto draw = [&](uint64_t seed) {
    Sampler sampler = MakeSampler(0.8f, 0.95f, seed);
    std::vector<int32_t> tokens;
    for (int i = 0; i < 200; ++i) tokens.push_back(*sampler.Sample(logits));
    return tokens;
  };
  std::vector<int32_t> first = draw(42);
  EXPECT_EQ(first, draw(42));
  EXPECT_NE(first, draw(43));
  // A flat-ish distribution over 300 tokens: 200 draws are not all one token.
  EXPECT_GT(std::count(first.begin(), first.end(), first[0]), 0);
  EXPECT_LT(std::count(first.begin(), first.end(), first[0]), 100);
}

TEST(Sampler, NucleusMatchesDirectComputation) {
  for (float top_p : {0.1f, 0.5f, 0.9f, 0.99f, 1.0f}) {
    for (float temperature : {0.3f, 1.0f, 2.0f}) {
      // A vocabulary-sized row too: its weights span many buckets.
      for (int vocab : {500, 128256}) {
        std::vector<float> logits = RandomLogits(vocab, 3, 2.0f);
        Sampler sampler = MakeSampler(temperature, top_p, 1);
        std::map<int32_t, double> expected = DirectNucleus(logits, temperature, top_p);
        std::vector<TokenProbability> nucleus = sampler.Nucleus(logits);
        ASSERT_EQ(nucleus.size(), expected.size()) << "top_p " << top_p << " T " << temperature;
        for (size_t i = 0; i < nucleus.size(); ++i) {
          ASSERT_TRUE(expected.count(nucleus[i].id)) << nucleus[i].id;
          EXPECT_NEAR(nucleus[i].probability, expected[nucleus[i].id], 1e-9);
          if (i > 0) {
            EXPECT_GE(nucleus[i - 1].probability, nucleus[i].probability);
          }
        }
      }
    }
  }
}

TEST(Sampler, NucleusOfPeakedDistributionIsOneToken) {
  std::vector<float> logits = {0.0f, 10.0f, 0.0f, 0.0f};
  Sampler sampler = MakeSampler(1.0f, 0.9f, 5);
  // p(1) = e^10 / (e^10 + 3) > 0.9: the nucleus is token 1 alone.
  ASSERT_EQ(sampler.Nucleus(logits).size(), 1u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(*sampler.Sample(logits), 1);
}

// Below 1, draws walk the sorted nucleus; at 1, every token in id order.
class SamplerDraws : public ::testing::TestWithParam<double> {};

TEST_P(SamplerDraws, FollowTheNucleus) {
  std::vector<float> logits = RandomLogits(50, 9, 1.0f);
  const double top_p = GetParam(), temperature = 0.7;
  std::map<int32_t, double> expected = DirectNucleus(logits, temperature, top_p);
  Sampler sampler = MakeSampler(static_cast<float>(temperature), static_cast<float>(top_p), 2024);
  constexpr int kDraws = 40000;
  std::map<int32_t, int> counts;
  for (int i = 0; i < kDraws; ++i) ++counts[*sampler.Sample(logits)];
  for (auto& [id, count] : counts) ASSERT_TRUE(expected.count(id)) << "token " << id << " outside";
  for (auto& [id, p] : expected) {
    double frequency = static_cast<double>(counts[id]) / kDraws;
    // 5 standard deviations of a binomial proportion.
    EXPECT_NEAR(frequency, p, 5 * std::sqrt(p * (1 - p) / kDraws) + 1e-4) << "token " << id;
  }
}

INSTANTIATE_TEST_SUITE_P(TopP, SamplerDraws, ::testing::Values(0.8, 1.0));

TEST(Sampler, RejectsBadOptions) {
  for (SamplerOptions options :
       {SamplerOptions{.temperature = -0.1f}, SamplerOptions{.temperature = NAN},
        SamplerOptions{.temperature = INFINITY}, SamplerOptions{.temperature = 1.0f, .top_p = 0.0f},
        SamplerOptions{.temperature = 1.0f, .top_p = 1.5f},
        SamplerOptions{.temperature = 1.0f, .top_p = NAN}}) {
    auto sampler = Sampler::Create(options);
    ASSERT_FALSE(sampler.ok());
    EXPECT_EQ(sampler.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(Sampler, EmptyLogitsIsAnError) {
  Sampler sampler = MakeSampler(1.0f, 1.0f, 0);
  auto token = sampler.Sample({});
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace lorashare

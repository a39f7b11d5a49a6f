// Greedy runs of llama.cpp (through llamacpp_eval.mjs) and their comparison
// with another engine's run on the same weights.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lorashare::testing {

// Generated tokens and, per step, llama.cpp's most probable tokens with
// their log-probabilities.
struct LlamaCppRun {
  std::vector<int> tokens;
  std::vector<std::vector<std::pair<int, double>>> top;
};

// A greedy run of the engine under test: tokens and, per step, the
// log-softmax over the whole vocabulary.
struct ReferenceRun {
  std::vector<int> tokens;
  std::vector<std::vector<double>> log_probs;
};

// Why llama.cpp cannot run here (node-llama-cpp not installed by
// scripts/setup.sh), or nothing when it can.
std::optional<std::string> LlamaCppMissingReason();

// Runs llama.cpp on `model_gguf` (+ `lora_gguf` at scale 1 when not empty).
// With `forced` ids, step i feeds forced[i] instead of the greedy token
// (teacher forcing; steps must equal forced.size()).
// Fails the test and returns nothing when the script fails.
std::optional<LlamaCppRun> RunLlamaCpp(const std::string& model_gguf, const std::string& lora_gguf,
                                       const std::vector<int>& prompt, int steps,
                                       const std::vector<int>& forced = {});

std::vector<double> LogSoftmax(const float* logits, int count);

// Expects the same greedy tokens at every step, and every log-probability in
// llama.cpp's top tokens above `floor` within `tolerance` of the reference's.
void ExpectSameGreedyRun(const ReferenceRun& reference, const LlamaCppRun& llamacpp,
                         double tolerance, double floor = -80);

std::string JoinIds(const std::vector<int>& ids);

}  // namespace lorashare::testing

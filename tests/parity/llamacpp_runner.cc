#include "llamacpp_runner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/output_file.h"
#include "test_util.h"

namespace lorashare::testing {

std::optional<std::string> LlamaCppMissingReason() {
  const std::string npm = SourceDir() + "/third_party/npm/node_modules";
  if (!std::filesystem::exists(npm + "/node-llama-cpp") ||
      !std::filesystem::exists(npm + "/@node-llama-cpp/linux-x64")) {
    return "node-llama-cpp is not installed in third_party/npm: run scripts/setup.sh";
  }
  return std::nullopt;
}

std::string JoinIds(const std::vector<int>& ids) {
  std::string text;
  for (int id : ids) {
    if (!text.empty()) text += ',';
    text += std::to_string(id);
  }
  return text;
}

std::optional<LlamaCppRun> RunLlamaCpp(const std::string& model_gguf, const std::string& lora_gguf,
                                       const std::vector<int>& prompt, int steps,
                                       const std::vector<int>& forced) {
  const std::string out = model_gguf + (lora_gguf.empty() ? "" : ".lora") + ".llamacpp.json";
  std::string command = "node " + SourceDir() + "/tests/parity/llamacpp_eval.mjs --model " +
                        model_gguf + " --prompt " + JoinIds(prompt) + " --steps " +
                        std::to_string(steps) + " --top-k 8 --threads 1";
  if (!lora_gguf.empty()) command += " --lora " + lora_gguf;
  if (!forced.empty()) command += " --force " + JoinIds(forced);
  CommandResult result = RunCommand(command + " > " + out);
  EXPECT_EQ(result.exit_code, 0) << command << "\n" << result.output;
  auto text = ReadWholeFile(out);
  if (result.exit_code != 0 || !text.ok()) return std::nullopt;
  nlohmann::json json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded() || !json.contains("tokens") || !json.contains("steps")) {
    ADD_FAILURE() << "llamacpp_eval.mjs printed no run: " << *text;
    return std::nullopt;
  }
  LlamaCppRun run;
  run.tokens = json["tokens"].get<std::vector<int>>();
  for (const auto& step : json["steps"]) {
    run.top.push_back(step["top"].get<std::vector<std::pair<int, double>>>());
  }
  return run;
}

std::vector<double> LogSoftmax(const float* logits, int count) {
  const double max = *std::max_element(logits, logits + count);
  double sum = 0;
  for (int i = 0; i < count; ++i) sum += std::exp(logits[i] - max);
  const double log_sum = std::log(sum);
  std::vector<double> out(count);
  for (int i = 0; i < count; ++i) out[i] = logits[i] - max - log_sum;
  return out;
}

void ExpectSameGreedyRun(const ReferenceRun& reference, const LlamaCppRun& llamacpp,
                         double tolerance, double floor) {
  ASSERT_EQ(reference.tokens.size(), llamacpp.tokens.size());
  ASSERT_EQ(reference.log_probs.size(), llamacpp.top.size());
  double worst = 0;
  for (size_t step = 0; step < llamacpp.tokens.size(); ++step) {
    ASSERT_EQ(reference.tokens[step], llamacpp.tokens[step])
        << "greedy tokens diverge at step " << step << "\nreference: " << JoinIds(reference.tokens)
        << "\nllama.cpp: " << JoinIds(llamacpp.tokens);
    const std::vector<double>& log_probs = reference.log_probs[step];
    for (const auto& [id, log_prob] : llamacpp.top[step]) {
      if (log_prob < floor) continue;
      ASSERT_GE(id, 0);
      ASSERT_LT(static_cast<size_t>(id), log_probs.size());
      const double error = std::fabs(log_probs[id] - log_prob);
      worst = std::max(worst, error);
      EXPECT_LE(error, tolerance) << "step " << step << " token " << id << ": llama.cpp log p "
                                  << log_prob << ", reference " << log_probs[id];
    }
  }
  ::testing::Test::RecordProperty("max_log_prob_error", std::to_string(worst));
  std::printf("max |log p error| over %zu steps: %.3g\n", llamacpp.tokens.size(), worst);
}

}  // namespace lorashare::testing

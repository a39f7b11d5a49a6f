// Programs written by `lorashare make-test-model` + `lorashare export` (the
// real exporter) against hf_reference.py, which reads the Hugging Face
// checkpoint and PEFT adapter with its own parser and merges the adapter as
// W + scale * B A. Also checks that base and LoRA programs exported over one
// foundation file share every foundation weight in one process.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/model.h"
#include "runtime/session.h"

namespace lorashare {
namespace {

class ExportedModelTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lorashare_exported_" + std::to_string(::getpid()) + "_" + GetParam());
    std::filesystem::create_directories(dir_);
    Cli("make-test-model --preset " + std::string(GetParam()) + " --dtype bf16 --out " +
        Path("hf") + " --lora-out " + Path("peft") + " -q");
    Cli("export --checkpoint " + Path("hf") + " --output " + Path("base.pte") +
        " --foundation-weights " + Path("foundation.ptd") + " --dtype bf16 -q");
    Cli("export --checkpoint " + Path("hf") + " --adapter " + Path("peft") + " --output " +
        Path("lora.pte") + " --foundation-weights " + Path("foundation.ptd") + " --dtype bf16 -q");
    Cli("export --checkpoint " + Path("hf") + " --adapter " + Path("peft") + " --output " +
        Path("lora_file.pte") + " --foundation-weights " + Path("foundation.ptd") +
        " --adapter-weights " + Path("adapter.ptd") + " --dtype bf16 -q");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  static void Cli(const std::string& args) {
    const std::string command = std::string(LORASHARE_BINARY) + " " + args;
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  std::vector<float> Reference(const std::string& adapter, const std::vector<int32_t>& tokens) {
    std::string list;
    for (int32_t t : tokens) {
      if (!list.empty()) list += ',';
      list += std::to_string(t);
    }
    const std::string command = "/usr/bin/python3 " + std::string(LORASHARE_SOURCE_DIR) +
                                "/tests/runtime/hf_reference.py " + Path("hf") + " " + adapter +
                                " " + list + " " + Path("logits.f32");
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    std::ifstream in(Path("logits.f32"), std::ios::binary);
    in.seekg(0, std::ios::end);
    std::vector<float> logits(static_cast<size_t>(in.tellg()) / sizeof(float));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(logits.data()), logits.size() * sizeof(float));
    return logits;
  }

  // Prefill of half the tokens, then one token at a time; every row of logits
  // within 1e-3 + 1e-3 |x| of the float64 reference.
  void ExpectMatches(const Model& model, const std::vector<float>& reference,
                     const std::vector<int32_t>& tokens) {
    const size_t vocab = model.spec().model.vocab_size;
    ASSERT_EQ(reference.size(), tokens.size() * vocab);
    auto session = model.NewSession(static_cast<int32_t>(tokens.size()));
    ASSERT_TRUE(session.ok()) << session.error().message();
    const size_t prefill = tokens.size() / 2;
    for (size_t end = prefill; end <= tokens.size(); ++end) {
      const size_t begin = end == prefill ? 0 : end - 1;
      auto logits = (*session)->Forward(std::span(tokens).subspan(begin, end - begin));
      ASSERT_TRUE(logits.ok()) << logits.error().message();
      for (size_t i = 0; i < vocab; ++i) {
        const float want = reference[(end - 1) * vocab + i];
        ASSERT_NEAR((*logits)[i], want, 1e-3f + 1e-3f * std::fabs(want))
            << "position " << end - 1 << " logit " << i;
      }
    }
  }

  std::filesystem::path dir_;
};

TEST_P(ExportedModelTest, BaseAndLoraMatchHuggingFaceReference) {
  auto base = Model::Load(Path("base.pte"), {Path("foundation.ptd")});
  auto lora = Model::Load(Path("lora.pte"), {Path("foundation.ptd")});
  auto lora_file =
      Model::Load(Path("lora_file.pte"), {Path("adapter.ptd"), Path("foundation.ptd")});
  ASSERT_TRUE(base.ok()) << base.error().message();
  ASSERT_TRUE(lora.ok()) << lora.error().message();
  ASSERT_TRUE(lora_file.ok()) << lora_file.error().message();
  const std::vector<int32_t> tokens = {1, 20, 300, 45, 7, 99, 150, 3, 64, 200, 11, 5};
  const auto base_reference = Reference("-", tokens);
  const auto lora_reference = Reference(Path("peft"), tokens);
  ExpectMatches(**base, base_reference, tokens);
  ExpectMatches(**lora, lora_reference, tokens);
  ExpectMatches(**lora_file, lora_reference, tokens);
  float lora_effect = 0;
  for (size_t i = 0; i < base_reference.size(); ++i) {
    lora_effect = std::max(lora_effect, std::fabs(base_reference[i] - lora_reference[i]));
  }
  EXPECT_GT(lora_effect, 0.01f);  // the adapter matters, so matching it means something
}

TEST_P(ExportedModelTest, ExportedProgramsShareFoundationWeights) {
  auto base = Model::Load(Path("base.pte"), {Path("foundation.ptd")});
  auto lora = Model::Load(Path("lora.pte"), {Path("foundation.ptd")});
  ASSERT_TRUE(base.ok() && lora.ok());
  const ProgramSpec& base_spec = (*base)->spec();
  const ProgramSpec& lora_spec = (*lora)->spec();
  size_t shared = 0;
  for (size_t t = 0; t < base_spec.tensors.size(); ++t) {
    for (size_t u = 0; u < lora_spec.tensors.size(); ++u) {
      if (lora_spec.tensors[u].is_inline() ||
          lora_spec.tensors[u].key != base_spec.tensors[t].key) {
        continue;
      }
      EXPECT_EQ((*lora)->WeightData(static_cast<int32_t>(u)),
                (*base)->WeightData(static_cast<int32_t>(t)))
          << base_spec.tensors[t].name;
      ++shared;
    }
  }
  EXPECT_EQ(shared, base_spec.tensors.size());
  EXPECT_EQ((*base)->adapter_bytes(), 0u);
  EXPECT_GT((*lora)->adapter_bytes(), 0u);
}

// Greedy decoding of `steps` tokens after `prompt`: the tokens, and the gap
// between the two largest logits at each step (how near a tie the choice was).
struct GreedyRun {
  std::vector<int32_t> tokens;
  std::vector<float> gaps;
};
GreedyRun Greedy(const Model& model, std::vector<int32_t> input, int steps) {
  auto session = model.NewSession(static_cast<int32_t>(input.size()) + steps);
  EXPECT_TRUE(session.ok());
  GreedyRun run;
  for (int s = 0; s < steps && session.ok(); ++s) {
    auto logits = (*session)->Forward(input);
    EXPECT_TRUE(logits.ok());
    if (!logits.ok()) break;
    std::vector<float> sorted(logits->begin(), logits->end());
    std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<>());
    input = {
        static_cast<int32_t>(std::max_element(logits->begin(), logits->end()) - logits->begin())};
    run.tokens.push_back(input[0]);
    run.gaps.push_back(sorted[0] - sorted[1]);
  }
  return run;
}

// Programs exported with --quantize int8 / 8da4w (packed in the .ptd by the
// real exporter) against the float64 reference of the unquantized checkpoint:
// their error is the weights' quantization (int8 per channel: 1/254 of a row's
// range; int4 per group of 32: 1/16 of a group's range) plus the activations'.
// Reports mean |error| and top-1 agreement. Random synthetic weights give
// near ties (top two logits closer than the quantization error), where any
// rounding may pick the other token: a disagreement must be such a tie
// (within 5x the mean error), and int8 greedy tokens equal the bf16
// program's up to the first tie.
TEST_P(ExportedModelTest, QuantizedExportsTrackTheReference) {
  const std::vector<int32_t> tokens = {1, 20, 300, 45, 7, 99, 150, 3, 64, 200, 11, 5};
  const auto reference = Reference("-", tokens);
  auto plain = Model::Load(Path("base.pte"), {Path("foundation.ptd")});
  ASSERT_TRUE(plain.ok());
  for (const char* scheme : {"int8", "8da4w"}) {
    const std::string program = Path(std::string(scheme) + ".pte");
    const std::string data = Path(std::string(scheme) + ".ptd");
    Cli("export --checkpoint " + Path("hf") + " --output " + program + " --foundation-weights " +
        data + " --quantize " + scheme + " -q");
    auto model = Model::Load(program, {data});
    ASSERT_TRUE(model.ok()) << model.error().message();
    const size_t vocab = (*model)->spec().model.vocab_size;
    auto session = (*model)->NewSession(static_cast<int32_t>(tokens.size()));
    ASSERT_TRUE(session.ok());
    double sum_error = 0, max_logit = 0;
    std::vector<std::pair<float, float>> disagreements;  // reference: best, ours
    for (size_t t = 0; t < tokens.size(); ++t) {
      auto logits = (*session)->Forward(std::span(tokens).subspan(t, 1));
      ASSERT_TRUE(logits.ok());
      const float* want = &reference[t * vocab];
      for (size_t i = 0; i < vocab; ++i) {
        sum_error += std::fabs((*logits)[i] - want[i]);
        max_logit = std::max(max_logit, std::fabs(static_cast<double>(want[i])));
      }
      const size_t ours = std::max_element(logits->begin(), logits->end()) - logits->begin();
      const size_t best = std::max_element(want, want + vocab) - want;
      if (ours != best) disagreements.emplace_back(want[best], want[ours]);
    }
    const double mean_error = sum_error / (tokens.size() * vocab);
    std::printf(
        "%s %s: logits vs float64 reference: mean |error| %.4f (max |logit| %.2f), top-1 "
        "agreement %zu/%zu\n",
        GetParam(), scheme, mean_error, max_logit, tokens.size() - disagreements.size(),
        tokens.size());
    const bool int8 = std::string(scheme) == "int8";
    EXPECT_LT(mean_error, (int8 ? 0.01 : 0.05) * max_logit);
    for (const auto& [best, ours] : disagreements) EXPECT_LT(best - ours, 5 * mean_error);
    if (!int8) continue;
    const std::vector<int32_t> prompt = {1, 20, 300, 45};
    const GreedyRun want = Greedy(**plain, prompt, 24), got = Greedy(**model, prompt, 24);
    size_t same = 0;
    while (same < want.tokens.size() && got.tokens[same] == want.tokens[same]) ++same;
    std::printf("%s int8: greedy tokens equal to bf16 for %zu of %zu steps\n", GetParam(), same,
                want.tokens.size());
    if (same < want.tokens.size()) {
      EXPECT_LT(want.gaps[same], 5 * mean_error) << "step " << same;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Presets, ExportedModelTest, ::testing::Values("tiny", "tiny-qwen3"),
                         [](const auto& info) {
                           return std::string(info.param) == "tiny" ? "Llama" : "Qwen3";
                         });

}  // namespace
}  // namespace lorashare

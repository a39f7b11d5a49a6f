// Programs written by `lorashare make-test-model` + `lorashare export` (the
// real exporter) against hf_reference.py, which reads the Hugging Face
// checkpoint and PEFT adapter with its own parser and merges the adapter as
// W + scale * B A. Also checks that base and LoRA programs exported over one
// foundation file share every foundation weight in one process.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/model.h"
#include "runtime/session.h"

namespace lorashare {
namespace {

class ExportedModelTest : public testing::TestWithParam<const char*> {
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

INSTANTIATE_TEST_SUITE_P(Presets, ExportedModelTest, testing::Values("tiny", "tiny-qwen3"),
                         [](const auto& info) {
                           return std::string(info.param) == "tiny" ? "Llama" : "Qwen3";
                         });

}  // namespace
}  // namespace lorashare

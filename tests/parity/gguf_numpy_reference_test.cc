// The GGUF files are right when llama.cpp, running them, decodes exactly what a
// plain numpy forward pass of the Hugging Face definition decodes from the
// original (unpermuted) weights: reference_forward.py is the independent
// reference; our runtime plays no part here.
//
// Tolerance: both sides are exact f32/f64 arithmetic over the same weights
// (llamacpp_eval.mjs keeps llama.cpp's KV cache in f32); measured errors are
// ~1e-6 in log-probability. 1e-4 leaves room for summation order and libm
// differences while still catching any wrong permutation, rope frequency,
// norm or LoRA scale (those move log-probabilities by 1e-2 or more).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/output_file.h"
#include "llamacpp_runner.h"
#include "random_model.h"
#include "test_util.h"
#include "testmodel/gguf_writer.h"

namespace lorashare::testing {
namespace {

constexpr int kSteps = 32;
constexpr double kTolerance = 1e-4;
const std::vector<int> kPrompt = {1, 17, 42, 99, 256, 3, 77, 150};

std::optional<ReferenceRun> RunNumpyReference(const std::string& dir, bool lora) {
  const std::string out = dir + (lora ? "/numpy.lora.json" : "/numpy.json");
  CommandResult result =
      RunCommand("/usr/bin/python3 " + SourceDir() + "/tests/reference_forward.py " + dir +
                 " --prompt " + JoinIds(kPrompt) + " --steps " + std::to_string(kSteps) +
                 (lora ? " --lora" : "") + " > " + out);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  auto text = ReadWholeFile(out);
  if (result.exit_code != 0 || !text.ok()) return std::nullopt;
  nlohmann::json json = nlohmann::json::parse(*text);
  return ReferenceRun{json["tokens"].get<std::vector<int>>(),
                      json["log_probs"].get<std::vector<std::vector<double>>>()};
}

struct Case {
  Architecture arch;
  bool lora;
};

class GgufNumpyReferenceTest : public ::testing::TestWithParam<Case> {};

TEST_P(GgufNumpyReferenceTest, LlamaCppDecodesLikeNumpy) {
  if (auto reason = LlamaCppMissingReason()) GTEST_SKIP() << *reason;
  const Case c = GetParam();
  TempDir dir;
  RandomModel model = MakeRandomModel(c.arch, 1234);
  DumpForNumpy(model, dir.path());
  const std::string model_gguf = dir / "model.gguf";
  Status status = WriteModelGguf(model_gguf, model.config, model.tokenizer, model.tensors);
  ASSERT_TRUE(status.ok()) << status.error().message();
  std::string lora_gguf;
  if (c.lora) {
    lora_gguf = dir / "lora.gguf";
    status = WriteLoraGguf(lora_gguf, model.lora, model.lora_scale, model.config);
    ASSERT_TRUE(status.ok()) << status.error().message();
  }

  std::optional<LlamaCppRun> llamacpp = RunLlamaCpp(model_gguf, lora_gguf, kPrompt, kSteps);
  std::optional<ReferenceRun> reference = RunNumpyReference(dir.path(), c.lora);
  ASSERT_TRUE(llamacpp && reference);
  ExpectSameGreedyRun(*reference, *llamacpp, kTolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Models, GgufNumpyReferenceTest,
    ::testing::Values(Case{Architecture::kLlama, false}, Case{Architecture::kLlama, true},
                      Case{Architecture::kQwen3, false}, Case{Architecture::kQwen3, true}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return std::string(ArchitectureName(info.param.arch)) + (info.param.lora ? "_lora" : "_base");
    });

}  // namespace
}  // namespace lorashare::testing

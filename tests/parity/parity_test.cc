// End to end: make-test-model writes a checkpoint, a PEFT adapter and the same
// weights as GGUF; lorashare exports and runs the checkpoint; llama.cpp runs
// the GGUF files. Both decode greedily from the same prompt ids and must
// produce the same tokens, with log-probabilities close.
//
// Tolerance on log-probabilities (log-softmax of our logits against the log of
// llama.cpp's softmax, for llama.cpp's 8 most probable tokens, down to
// log p = -80 where float32 softmax still resolves them): 5e-4. Both engines
// compute in f32 with f32 KV caches but sum in different orders (SIMD widths,
// blocking, LoRA), so logits differ by a few ulps of their magnitude per
// layer; measured differences are below 2e-5. A real defect (a wrong rope
// frequency, head permutation, LoRA scale or norm) moves them by 1e-2 or more.
// make-test-model's tied-embedding presets mostly repeat the last prompt
// token, so the log-probabilities carry most of the signal there; the second
// suite runs random_model.h's models (llama3 rope scaling in every band,
// varied greedy tokens) through the same export and runtime.
#include <gtest/gtest.h>

#include "llamacpp_runner.h"
#include "random_model.h"
#include "runtime/model.h"
#include "runtime/session.h"
#include "test_util.h"
#include "testmodel/gguf_writer.h"

namespace lorashare::testing {
namespace {

constexpr int kSteps = 32;
constexpr double kTolerance = 5e-4;

struct Case {
  std::string preset;
  bool lora;
};

// Greedy decoding with lorashare's runtime, recording the log-softmax of the
// logits at every step.
ReferenceRun DecodeWithLorashare(const std::string& program, const std::string& foundation,
                                 const std::vector<int>& prompt) {
  ReferenceRun run;
  auto model = Model::Load(program, {foundation}, {.threads = 1});
  EXPECT_TRUE(model.ok()) << model.error().message();
  if (!model.ok()) return run;
  auto session = (*model)->NewSession(static_cast<int32_t>(prompt.size()) + kSteps);
  EXPECT_TRUE(session.ok()) << session.error().message();
  if (!session.ok()) return run;
  std::vector<int32_t> input(prompt.begin(), prompt.end());
  for (int step = 0; step < kSteps; ++step) {
    auto logits = (*session)->Forward(input);
    EXPECT_TRUE(logits.ok()) << "step " << step << ": " << logits.error().message();
    if (!logits.ok()) return run;
    run.log_probs.push_back(LogSoftmax(logits->data(), static_cast<int>(logits->size())));
    const auto& log_probs = run.log_probs.back();
    const int next =
        static_cast<int>(std::max_element(log_probs.begin(), log_probs.end()) - log_probs.begin());
    run.tokens.push_back(next);
    input = {next};
  }
  return run;
}

void Export(const TempDir& dir, const std::string& checkpoint, const std::string& adapter) {
  std::string args = "export --checkpoint " + checkpoint + " --output " + (dir / "model.pte") +
                     " --foundation-weights " + (dir / "foundation.ptd") + " --quiet";
  if (!adapter.empty()) args += " --adapter " + adapter;
  CommandResult exported = RunLorashare(args);
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
}

// Decodes `prompt` greedily with dir's model.pte (exported by Export) and with
// llama.cpp on dir's model.gguf (and lora.gguf when `lora`): the same tokens.
void ExpectSameRunAsLlamaCpp(const TempDir& dir, bool lora, const std::vector<int>& prompt) {
  ReferenceRun ours = DecodeWithLorashare(dir / "model.pte", dir / "foundation.ptd", prompt);
  ASSERT_FALSE(::testing::Test::HasFailure());
  std::optional<LlamaCppRun> llamacpp =
      RunLlamaCpp(dir / "model.gguf", lora ? dir / "lora.gguf" : "", prompt, kSteps);
  ASSERT_TRUE(llamacpp);
  ExpectSameGreedyRun(ours, *llamacpp, kTolerance);
}

class ParityTest : public ::testing::TestWithParam<Case> {};

TEST_P(ParityTest, SameGreedyTokensAsLlamaCpp) {
  if (auto reason = LlamaCppMissingReason()) GTEST_SKIP() << *reason;
  const Case c = GetParam();
  TempDir dir;
  CommandResult made = RunLorashare("make-test-model --preset " + c.preset + " --out " +
                                    (dir / "base") + " --lora-out " + (dir / "adapter") +
                                    " --lora-preset all --gguf " + (dir / "model.gguf") +
                                    " --lora-gguf " + (dir / "lora.gguf") + " --seed 21 --quiet");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  Export(dir, dir / "base", c.lora ? dir / "adapter" : "");
  ASSERT_FALSE(HasFailure());

  // Ids spread over the vocabulary of both presets (>= 640 tokens).
  ExpectSameRunAsLlamaCpp(dir, c.lora, {5, 300, 17, 421, 88, 613, 250, 9});
}

INSTANTIATE_TEST_SUITE_P(Presets, ParityTest,
                         ::testing::Values(Case{"tiny", false}, Case{"tiny", true},
                                           Case{"tiny-qwen3", false}, Case{"tiny-qwen3", true}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name =
                               info.param.preset + (info.param.lora ? "_lora" : "_base");
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

struct RandomCase {
  Architecture arch;
  bool lora;
};

class RandomModelParityTest : public ::testing::TestWithParam<RandomCase> {};

TEST_P(RandomModelParityTest, SameGreedyTokensAsLlamaCpp) {
  if (auto reason = LlamaCppMissingReason()) GTEST_SKIP() << *reason;
  const RandomCase c = GetParam();
  TempDir dir;
  RandomModel model = MakeRandomModel(c.arch, 1234);
  WriteHfCheckpoint(model, dir / "base", dir / "adapter");
  ASSERT_FALSE(HasFailure());
  Export(dir, dir / "base", c.lora ? dir / "adapter" : "");
  ASSERT_FALSE(HasFailure());
  Status status = WriteModelGguf(dir / "model.gguf", model.config, model.tokenizer, model.tensors);
  ASSERT_TRUE(status.ok()) << status.error().message();
  status = WriteLoraGguf(dir / "lora.gguf", model.lora, model.lora_scale, model.config);
  ASSERT_TRUE(status.ok()) << status.error().message();

  ExpectSameRunAsLlamaCpp(dir, c.lora, {1, 17, 42, 99, 256, 3, 77, 150});
}

INSTANTIATE_TEST_SUITE_P(Models, RandomModelParityTest,
                         ::testing::Values(RandomCase{Architecture::kLlama, false},
                                           RandomCase{Architecture::kLlama, true},
                                           RandomCase{Architecture::kQwen3, false},
                                           RandomCase{Architecture::kQwen3, true}),
                         [](const ::testing::TestParamInfo<RandomCase>& info) {
                           return std::string(ArchitectureName(info.param.arch)) +
                                  (info.param.lora ? "_lora" : "_base");
                         });

}  // namespace
}  // namespace lorashare::testing

// `lorashare run` and `lorashare demo` through the CLI binary: bad input gets
// a clear message and the documented exit code, never a crash; a good run
// generates and the demo reports memory as specified.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cli_suite.h"

namespace {

namespace fs = std::filesystem;

using CommandResult = lorashare::testing::SplitOutput;

class RunDemoTest : public lorashare::testing::CliSuite<RunDemoTest> {
 protected:
  static void SetUpTestSuite() {
    CliSuite::SetUpTestSuite();
    auto make = [](const std::string& preset, const std::string& seed, const std::string& name) {
      CommandResult made =
          Lorashare({"make-test-model", "--preset", preset, "--seed", seed, "--out",
                     Path(name + "/base"), "--lora-out", Path(name + "/adapter")});
      ASSERT_EQ(made.exit_code, 0) << made.err;
    };
    make("tiny", "1", "a");
    make("tiny", "2", "b");
    for (const std::string name : {"a", "b"}) {
      CommandResult base = Lorashare({"export", "--quiet", "--checkpoint", Path(name + "/base"),
                                      "--output", Path(name + "/base.pte"), "--foundation-weights",
                                      Path(name + "/foundation.ptd")});
      ASSERT_EQ(base.exit_code, 0) << base.err;
    }
    CommandResult lora = Lorashare({"export", "--quiet", "--checkpoint", Path("a/base"),
                                    "--adapter", Path("a/adapter"), "--output", Path("a/lora.pte"),
                                    "--foundation-weights", Path("a/foundation.ptd")});
    ASSERT_EQ(lora.exit_code, 0) << lora.err;
  }

  // `run` on model a with the given extra flags replacing defaults.
  static CommandResult RunA(std::vector<std::string> extra,
                            const std::string& data = "a/foundation.ptd") {
    std::vector<std::string> args = {"run",
                                     "--model",
                                     Path("a/base.pte"),
                                     "--data",
                                     Path(data),
                                     "--tokenizer",
                                     Path("a/base/tokenizer.model")};
    bool has_prompt = false;
    for (const std::string& arg : extra) has_prompt |= arg == "--prompt";
    if (!has_prompt) extra.insert(extra.end(), {"--prompt", "Once upon a time"});
    args.insert(args.end(), extra.begin(), extra.end());
    return Lorashare(args);
  }

  static std::vector<std::string> DemoArgs() {
    return {"demo",
            "--llama_model_path",
            Path("a/base.pte"),
            "--lora_model_path",
            Path("a/lora.pte"),
            "--foundation_weights_path",
            Path("a/foundation.ptd"),
            "--tokenizer_path",
            Path("a/base/tokenizer.model"),
            "--seq_len",
            "32"};
  }

  static void ExpectError(const CommandResult& result, int exit_code, const std::string& needle) {
    EXPECT_EQ(result.exit_code, exit_code) << result.err;
    EXPECT_NE(result.err.find(needle), std::string::npos)
        << "stderr lacks '" << needle << "': " << result.err;
  }
};

TEST_F(RunDemoTest, RunGeneratesAndReportsStats) {
  CommandResult result = RunA({"--max-new-tokens", "8"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_FALSE(result.out.empty());
  EXPECT_NE(result.err.find("generated tokens: "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("Time to first token"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("Decode"), std::string::npos) << result.err;
}

TEST_F(RunDemoTest, SamplingWithASeedRepeats) {
  std::vector<std::string> flags = {"--max-new-tokens", "12", "--temperature", "1.5", "--quiet"};
  auto with_seed = [&](const std::string& seed) {
    std::vector<std::string> args = flags;
    args.insert(args.end(), {"--seed", seed});
    CommandResult result = RunA(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(result.err.empty()) << result.err;
    return result.out;
  };
  EXPECT_EQ(with_seed("5"), with_seed("5"));
}

TEST_F(RunDemoTest, UnknownFlagIsAUsageError) {
  ExpectError(RunA({"--bogus-flag", "1"}), 2, "--bogus-flag");
  std::vector<std::string> demo = DemoArgs();
  demo.push_back("--no_such_flag");
  ExpectError(Lorashare(demo), 2, "--no_such_flag");
}

TEST_F(RunDemoTest, MissingDataFileIsNamed) {
  ExpectError(RunA({}, "a/missing.ptd"), 1, "missing.ptd");
}

TEST_F(RunDemoTest, WrongDataFileIsNamed) {
  // A program file given as a data file.
  ExpectError(RunA({}, "a/lora.pte"), 1, "lora.pte");
}

TEST_F(RunDemoTest, DataFileOfAnotherModelIsRefused) {
  CommandResult result = RunA({}, "b/foundation.ptd");
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find("foundation.ptd"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("lorashare: error: "), std::string::npos) << result.err;
}

TEST_F(RunDemoTest, PromptLongerThanContext) {
  std::string prompt;
  for (int i = 0; i < 40; ++i) prompt += "word ";
  ExpectError(RunA({"--seq-len", "16", "--prompt", prompt}), 1, "does not fit");
}

TEST_F(RunDemoTest, EmptyPrompt) { ExpectError(RunA({"--prompt", ""}), 2, "prompt is empty"); }

TEST_F(RunDemoTest, BadSamplingValues) {
  ExpectError(RunA({"--temperature", "-1"}), 2, "temperature");
  ExpectError(RunA({"--top-p", "0"}), 2, "top_p");
}

TEST_F(RunDemoTest, DemoNeedsFoundationWeights) {
  ExpectError(Lorashare({"demo", "--llama_model_path", Path("a/base.pte"), "--lora_model_path",
                         Path("a/lora.pte"), "--tokenizer_path", Path("a/base/tokenizer.model")}),
              2, "--foundation_weights_path");
}

TEST_F(RunDemoTest, DemoMissingLoraProgramIsNamedAfterTheFirstModelRan) {
  std::vector<std::string> args = DemoArgs();
  args[4] = Path("a/no_lora.pte");
  CommandResult result = Lorashare(args);
  ExpectError(result, 1, "no_lora.pte");
  EXPECT_NE(result.out.find("RSS after finishing text generation"), std::string::npos);
}

double MiBAfter(const std::string& text, const std::string& label) {
  std::smatch match;
  std::regex pattern(label + R"(: (-?[0-9]+\.[0-9]+) MiB)");
  // NaN when missing: every comparison with it fails.
  if (!std::regex_search(text, match, pattern)) return std::nan("");
  return std::stod(match[1]);
}

TEST_F(RunDemoTest, DemoPrintsRssPerModelAndSummary) {
  CommandResult result = Lorashare(DemoArgs());
  ASSERT_EQ(result.exit_code, 0) << result.err << result.out;
  const std::string& out = result.out;
  for (const char* line : {"RSS after loading model: ", "RSS after prompt prefill: ",
                           "RSS after finishing text generation: "}) {
    size_t first = out.find(line);
    ASSERT_NE(first, std::string::npos) << line << " missing:\n" << out;
    EXPECT_NE(out.find(line, first + 1), std::string::npos) << line << " once only:\n" << out;
  }
  std::regex rss_line(
      R"(RSS after loading model: [0-9]+\.[0-9]{6} MiB \(peak [0-9]+\.[0-9]{6} MiB\))");
  EXPECT_TRUE(std::regex_search(out, rss_line)) << out;
  // The LoRA model's increase stays within its adapter, KV cache and 16 MiB.
  double increase = MiBAfter(out, "second model RSS increase after loading");
  double owned = MiBAfter(out, "adapter \\+ KV cache");
  ASSERT_GE(owned, 0) << out;
  EXPECT_GT(MiBAfter(out, "second model adapter bytes"), 0) << out;
  ASSERT_GT(increase, -1000) << out;
  EXPECT_LE(increase, owned + 16.0) << out;
  double through_generation =
      MiBAfter(out, "second model RSS increase by the end of its generation");
  EXPECT_GE(through_generation, 0) << out;
  EXPECT_LE(through_generation, owned + 16.0) << out;
  // The shared foundation is the file both models use.
  double foundation = MiBAfter(out, "shared foundation data");
  EXPECT_NEAR(foundation,
              static_cast<double>(fs::file_size(Path("a/foundation.ptd"))) / (1024.0 * 1024.0),
              1e-5);
}

// On a model whose foundation (58 MiB) dwarfs the 16 MiB allowance, the
// demo's own numbers show sharing: with it the LoRA model costs its adapter
// and KV cache; without it, a second foundation.
TEST_F(RunDemoTest, SharingKeepsTheSecondModelSmall) {
  CommandResult made = Lorashare({"make-test-model", "--preset", "stories15m", "--out",
                                  Path("s/base"), "--lora-out", Path("s/adapter")});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  for (auto [adapter, output] : {std::pair<std::string, std::string>{"", "s/base.pte"},
                                 std::pair<std::string, std::string>{"s/adapter", "s/lora.pte"}}) {
    std::vector<std::string> args = {
        "export",   "--quiet",    "--checkpoint",         Path("s/base"),
        "--output", Path(output), "--foundation-weights", Path("s/foundation.ptd")};
    if (!adapter.empty()) args.insert(args.end(), {"--adapter", Path(adapter)});
    CommandResult exported = Lorashare(args);
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
  }
  double foundation_mib =
      static_cast<double>(fs::file_size(Path("s/foundation.ptd"))) / (1024.0 * 1024.0);
  ASSERT_GT(foundation_mib, 50);
  auto demo = [&](bool share) {
    std::vector<std::string> args = {"demo",
                                     "--llama_model_path",
                                     Path("s/base.pte"),
                                     "--lora_model_path",
                                     Path("s/lora.pte"),
                                     "--foundation_weights_path",
                                     Path("s/foundation.ptd"),
                                     "--tokenizer_path",
                                     Path("s/base/tokenizer.model"),
                                     "--seq_len",
                                     "24"};
    if (!share) args.push_back("--no-weight-sharing");
    CommandResult result = Lorashare(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return result.out;
  };
  std::string shared = demo(true);
  double owned = MiBAfter(shared, "adapter \\+ KV cache");
  ASSERT_GT(owned, 0) << shared;
  EXPECT_LE(MiBAfter(shared, "second model RSS increase after loading"), owned + 16.0) << shared;
  EXPECT_LE(MiBAfter(shared, "peak RSS of the demo"),
            MiBAfter(shared, "foundation \\+ adapters \\+ both KV caches") + 150.0)
      << shared;
  std::string private_copies = demo(false);
  EXPECT_GE(MiBAfter(private_copies, "second model RSS increase after loading"),
            0.9 * foundation_mib)
      << private_copies;
}

}  // namespace

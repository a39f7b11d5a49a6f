// `lorashare make-test-model` writes real formats, checked by an independent
// Python reader, deterministically from its seed.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"

namespace lorashare {
namespace {

using testing::RunCommand;
using testing::RunLorashare;
using testing::TempDir;

uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

testing::CommandResult CheckIndependently(const std::string& model, const std::string& adapter) {
  return RunCommand("/usr/bin/python3 " + testing::SourceDir() +
                    "/tests/testmodel/check_hf_model.py " + model + " " + adapter);
}

class MakeTestModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MakeTestModelTest, WritesCheckpointAdapterAndTokenizerInRealFormats) {
  TempDir dir;
  auto made = RunLorashare("make-test-model --quiet --preset " + GetParam() + " --out " +
                           dir / "base" + " --lora-out " + dir / "adapter" + " --lora-preset all");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto check = CheckIndependently(dir / "base", dir / "adapter");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_LT(DirectoryBytes(dir.path()), 5u << 20);
}

INSTANTIATE_TEST_SUITE_P(TinyPresets, MakeTestModelTest, ::testing::Values("tiny", "tiny-qwen3"));

TEST(MakeTestModel, Bf16Checkpoint) {
  TempDir dir;
  ASSERT_EQ(RunLorashare("make-test-model --quiet --preset tiny --dtype bf16 --out " + dir / "m")
                .exit_code,
            0);
  auto check = CheckIndependently(dir / "m", "");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("dtype=BF16"), std::string::npos) << check.output;
}

TEST(MakeTestModel, SameSeedSameBytesOtherSeedOtherWeights) {
  TempDir dir;
  for (const char* name : {"a", "b"}) {
    ASSERT_EQ(RunLorashare("make-test-model --quiet --preset tiny --seed 5 --out " + dir / name +
                           " --lora-out " + dir / (std::string(name) + "-lora"))
                  .exit_code,
              0);
  }
  ASSERT_EQ(
      RunLorashare("make-test-model --quiet --preset tiny --seed 6 --out " + dir / "c").exit_code,
      0);
  EXPECT_EQ(RunCommand("diff -r " + dir / "a" + " " + dir / "b").exit_code, 0);
  EXPECT_EQ(RunCommand("diff -r " + dir / "a-lora" + " " + dir / "b-lora").exit_code, 0);
  EXPECT_NE(RunCommand("cmp -s " + dir / "a/model.safetensors" + " " + dir / "c/model.safetensors")
                .exit_code,
            0);
}

TEST(MakeTestModel, UnknownPresetIsAUsageError) {
  TempDir dir;
  auto result = RunLorashare("make-test-model --preset llama-9000 --out " + dir / "m");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("llama-9000"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace lorashare

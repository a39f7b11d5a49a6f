// End-to-end tests of `lorashare export` (through the CLI): shared foundation
// files, program sizes, content-derived keys, and bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "export/check_ptd_keys.h"
#include "import/safetensors.h"
#include "test_util.h"

namespace lorashare {
namespace {

using testing::CheckPtdKeys;
using testing::FileSize;
using testing::RunCommand;
using testing::RunLorashare;
using testing::TempDir;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Names left in `dir` that look like unfinished output (temp files).
std::vector<std::string> TempFiles(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().find(".tmp.") != std::string::npos) {
      names.push_back(e.path().filename());
    }
  }
  return names;
}

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = RunLorashare("make-test-model --preset tiny --quiet --out " + dir_ / "base" +
                             " --lora-out " + dir_ / "adapter");
    ASSERT_EQ(made.exit_code, 0) << made.output;
  }

  testing::CommandResult Export(const std::string& extra) {
    return RunLorashare("export --quiet --checkpoint " + dir_ / "base" + " " + extra);
  }

  TempDir dir_;
};

TEST_F(ExportTest, BaseAndLoraExportsWriteIdenticalFoundationFiles) {
  auto base = Export("--output " + dir_ / "llama.pte" + " --foundation-weights " +
                     dir_ / "foundation_base.ptd");
  ASSERT_EQ(base.exit_code, 0) << base.output;
  auto lora = Export("--adapter " + dir_ / "adapter" + " --output " + dir_ / "lora.pte" +
                     " --foundation-weights " + dir_ / "foundation.ptd");
  ASSERT_EQ(lora.exit_code, 0) << lora.output;

  auto cmp = RunCommand("cmp " + dir_ / "foundation_base.ptd" + " " + dir_ / "foundation.ptd");
  EXPECT_EQ(cmp.exit_code, 0) << cmp.output;

  // The LoRA program costs its adapter tensors and little else.
  auto adapter = SafetensorsFile::Open(dir_ / "adapter/adapter_model.safetensors");
  ASSERT_TRUE(adapter.ok()) << adapter.error().message();
  uint64_t adapter_bytes = 0;
  for (const auto& t : adapter->tensors()) adapter_bytes += t.bytes.size();
  const double difference = static_cast<double>(FileSize(dir_ / "lora.pte")) -
                            static_cast<double>(FileSize(dir_ / "llama.pte"));
  EXPECT_GE(difference, static_cast<double>(adapter_bytes));
  EXPECT_LE(difference, 1.02 * static_cast<double>(adapter_bytes) + 64 * 1024);
  EXPECT_LT(FileSize(dir_ / "llama.pte"), 1u << 20);
}

TEST_F(ExportTest, FoundationKeysAreContentHashesCheckedIndependently) {
  ASSERT_EQ(
      Export("--output " + dir_ / "llama.pte" + " --foundation-weights " + dir_ / "foundation.ptd")
          .exit_code,
      0);
  auto check = CheckPtdKeys(dir_ / "foundation.ptd");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("ok "), std::string::npos) << check.output;
}

TEST_F(ExportTest, AdapterWeightsInTheirOwnDataFile) {
  auto lora = Export("--adapter " + dir_ / "adapter" + " --output " + dir_ / "lora.pte" +
                     " --foundation-weights " + dir_ / "foundation.ptd" + " --adapter-weights " +
                     dir_ / "lora.ptd");
  ASSERT_EQ(lora.exit_code, 0) << lora.output;
  ASSERT_EQ(
      Export("--output " + dir_ / "llama.pte" + " --foundation-weights " + dir_ / "foundation.ptd")
          .exit_code,
      0);
  // The program only grows by the instructions and tensor entries.
  EXPECT_LT(FileSize(dir_ / "lora.pte"), FileSize(dir_ / "llama.pte") + 64 * 1024);
  auto resolved = RunLorashare("inspect " + dir_ / "lora.pte" + " --data " +
                               dir_ / "foundation.ptd" + "," + dir_ / "lora.ptd");
  EXPECT_EQ(resolved.exit_code, 0) << resolved.output;
  EXPECT_EQ(resolved.output.find("problem"), std::string::npos) << resolved.output;
}

TEST_F(ExportTest, InspectRefusesAFoundationOfAnotherModel) {
  ASSERT_EQ(
      Export("--output " + dir_ / "llama.pte" + " --foundation-weights " + dir_ / "foundation.ptd")
          .exit_code,
      0);
  ASSERT_EQ(RunLorashare("make-test-model --preset tiny --seed 7 --quiet --out " + dir_ / "other")
                .exit_code,
            0);
  ASSERT_EQ(RunLorashare("export --quiet --checkpoint " + dir_ / "other" + " --output " +
                         dir_ / "other.pte" + " --foundation-weights " + dir_ / "other.ptd")
                .exit_code,
            0);
  auto mismatch = RunLorashare("inspect " + dir_ / "llama.pte" + " --data " + dir_ / "other.ptd");
  EXPECT_EQ(mismatch.exit_code, 1) << mismatch.output;
  EXPECT_NE(mismatch.output.find("fingerprint"), std::string::npos) << mismatch.output;
}

TEST_F(ExportTest, Bf16ExportHalvesTheFoundation) {
  ASSERT_EQ(Export("--output " + dir_ / "f32.pte" + " --foundation-weights " + dir_ / "f32.ptd")
                .exit_code,
            0);
  auto bf16 = Export("--dtype bf16 --output " + dir_ / "bf16.pte" + " --foundation-weights " +
                     dir_ / "bf16.ptd");
  ASSERT_EQ(bf16.exit_code, 0) << bf16.output;
  const double ratio = static_cast<double>(FileSize(dir_ / "bf16.ptd")) /
                       static_cast<double>(FileSize(dir_ / "f32.ptd"));
  EXPECT_GT(ratio, 0.45);
  EXPECT_LT(ratio, 0.60);
}

TEST_F(ExportTest, AdapterOfAnotherShapeIsRefusedAndNothingIsWritten) {
  ASSERT_EQ(RunLorashare("make-test-model --preset tiny-qwen3 --quiet --out " + dir_ / "qwen" +
                         " --lora-out " + dir_ / "qwen-adapter")
                .exit_code,
            0);
  auto result = Export("--adapter " + dir_ / "qwen-adapter" + " --output " + dir_ / "bad.pte" +
                       " --foundation-weights " + dir_ / "bad.ptd");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("layers.0.attention.wq"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "bad.pte"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "bad.ptd"));
  EXPECT_TRUE(TempFiles(dir_.path()).empty());
}

// The same model and adapter written in Meta/torchtune layout (.pth zips,
// interleaved RoPE rows) export to the same foundation and adapter bytes.
TEST_F(ExportTest, MetaAndTorchtuneInputsExportLikeHuggingFaceAndPeft) {
  ASSERT_EQ(RunLorashare("make-test-model --preset tiny --quiet --out " + dir_ / "hf" +
                         " --lora-out " + dir_ / "peft" + " --meta-out " + dir_ / "meta")
                .exit_code,
            0);
  auto from_hf =
      RunLorashare("export --quiet --checkpoint " + dir_ / "hf" + " --adapter " + dir_ / "peft" +
                   " --output " + dir_ / "hf.pte" + " --foundation-weights " + dir_ / "hf.ptd" +
                   " --adapter-weights " + dir_ / "hf-lora.ptd");
  ASSERT_EQ(from_hf.exit_code, 0) << from_hf.output;
  auto from_meta = RunLorashare("export --quiet --checkpoint " + dir_ / "meta" + " --adapter " +
                                dir_ / "meta/adapter_model.pt" + " --output " + dir_ / "meta.pte" +
                                " --foundation-weights " + dir_ / "meta.ptd" +
                                " --adapter-weights " + dir_ / "meta-lora.ptd");
  ASSERT_EQ(from_meta.exit_code, 0) << from_meta.output;
  EXPECT_EQ(RunCommand("cmp " + dir_ / "hf.ptd" + " " + dir_ / "meta.ptd").exit_code, 0);
  EXPECT_EQ(RunCommand("cmp " + dir_ / "hf-lora.ptd" + " " + dir_ / "meta-lora.ptd").exit_code, 0);
  // Packed from the importer's reordered (in-memory) q/k rows as from the mapped file.
  for (const char* name : {"hf", "meta"}) {
    ASSERT_EQ(RunLorashare("export --quiet --quantize 8da4w --checkpoint " + dir_ / name +
                           " --output " + dir_ / "q.pte" + " --foundation-weights " +
                           dir_ / (std::string(name) + "-q.ptd"))
                  .exit_code,
              0);
  }
  EXPECT_EQ(RunCommand("cmp " + dir_ / "hf-q.ptd" + " " + dir_ / "meta-q.ptd").exit_code, 0);
}

TEST_F(ExportTest, MissingCheckpointNamesThePath) {
  auto result = RunLorashare("export --checkpoint " + dir_ / "nowhere" + " --output " +
                             dir_ / "x.pte" + " --foundation-weights " + dir_ / "x.ptd");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find(dir_ / "nowhere"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x.ptd"));
}

TEST_F(ExportTest, BadFlagsExitWithUsageError) {
  EXPECT_EQ(
      Export("--dtype f8 --output " + dir_ / "x.pte" + " --foundation-weights " + dir_ / "x.ptd")
          .exit_code,
      2);
  EXPECT_EQ(Export("--no-such-flag").exit_code, 2);
  EXPECT_EQ(RunLorashare("export --output x.pte").exit_code, 2);
}

TEST_F(ExportTest, TruncatedSafetensorsIsRefused) {
  const std::string weights = dir_ / "base/model.safetensors";
  std::string bytes = ReadBytes(weights);
  std::ofstream(weights, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  auto result = Export("--output " + dir_ / "x.pte" + " --foundation-weights " + dir_ / "x.ptd");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("model.safetensors"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x.ptd"));
}

}  // namespace
}  // namespace lorashare

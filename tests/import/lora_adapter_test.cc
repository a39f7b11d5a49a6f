// PEFT (safetensors) and torchtune (.pt) adapters written by pyref.py, with
// torchtune's q/k B rows checked against numpy's Meta -> HF permutation.
#include "import/lora_adapter.h"

#include <gtest/gtest.h>

#include <fstream>

#include "import/checkpoint.h"
#include "import_test_util.h"
#include "testmodel/safetensors_writer.h"

namespace lorashare {
namespace {

using testing::RunPyRef;
using testing::TempDir;

// The base pyref.py's adapters are made for (its "llama" model_dims()).
ModelConfig PyRefBase() {
  ModelConfig c;
  c.dim = 64;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  c.hidden_dim = 96;
  c.vocab_size = 128;
  c.max_context = 512;
  return c;
}

std::vector<TensorRef> Flatten(const LoraAdapter& adapter) {
  std::vector<TensorRef> out;
  for (const LoraPair& pair : adapter.pairs()) {
    out.push_back(pair.a);
    out.push_back(pair.b);
  }
  return out;
}

void EditConfig(const TempDir& dir, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json config;
  std::ifstream(dir / "adapter_config.json") >> config;
  edit(config);
  std::ofstream(dir / "adapter_config.json", std::ios::trunc) << config.dump();
}

std::string OpenError(const std::string& path) {
  auto adapter = LoraAdapter::Open(path);
  EXPECT_FALSE(adapter.ok());
  return adapter.ok() ? "" : adapter.error().message();
}

TEST(LoraAdapter, PeftSafetensors) {
  TempDir dir;
  auto manifest = RunPyRef({"adapter", dir.path(), "peft", "q_proj,v_proj,down_proj", "4", "no"});
  auto adapter = LoraAdapter::Open(dir.path());
  ASSERT_TRUE(adapter.ok()) << adapter.error().message();
  ASSERT_TRUE((*adapter)->CheckAgainst(PyRefBase(), "base").ok());
  testing::ExpectTensorsMatch(Flatten(**adapter), manifest["tensors"]);
  const LoraConfig& c = (*adapter)->config();
  EXPECT_EQ(c.rank, 4);
  EXPECT_FLOAT_EQ(c.alpha, 8.0f);
  EXPECT_FLOAT_EQ(c.scale(), 2.0f);
  EXPECT_EQ(c.base_model, "pyref/llama");
  EXPECT_EQ(c.target_modules, (std::vector<std::string>{"q_proj", "v_proj", "down_proj"}));
  std::vector<std::string> targets;
  for (const LoraPair& pair : (*adapter)->pairs()) targets.push_back(pair.target);
  EXPECT_EQ(targets,
            (std::vector<std::string>{"layers.0.attention.wq", "layers.0.attention.wv",
                                      "layers.0.feed_forward.w2", "layers.1.attention.wq",
                                      "layers.1.attention.wv", "layers.1.feed_forward.w2"}));
}

TEST(LoraAdapter, PeftFanInFanOutIsTransposed) {
  TempDir dir;
  auto manifest =
      RunPyRef({"adapter", dir.path(), "peft", "k_proj,gate_proj", "3", "fan_in_fan_out"});
  auto adapter = LoraAdapter::Open(dir / "adapter_model.safetensors");
  ASSERT_TRUE(adapter.ok()) << adapter.error().message();
  ASSERT_TRUE((*adapter)->CheckAgainst(PyRefBase(), "base").ok());
  testing::ExpectTensorsMatch(Flatten(**adapter), manifest["tensors"]);
}

TEST(LoraAdapter, TorchtunePtIsPermutedToHfOrder) {
  TempDir dir;
  auto manifest = RunPyRef(
      {"adapter", dir.path(), "torchtune", "q_proj,k_proj,v_proj,o_proj,up_proj", "4", "no"});
  auto adapter = LoraAdapter::Open(dir.path());
  ASSERT_TRUE(adapter.ok()) << adapter.error().message();
  auto status = (*adapter)->CheckAgainst(PyRefBase(), "base");
  ASSERT_TRUE(status.ok()) << status.error().message();
  testing::ExpectTensorsMatch(Flatten(**adapter), manifest["tensors"]);
  EXPECT_FLOAT_EQ((*adapter)->config().scale(), 2.0f);
}

TEST(LoraAdapter, RsLoraScale) {
  LoraConfig c;
  c.rank = 16;
  c.alpha = 8;
  c.use_rslora = true;
  EXPECT_FLOAT_EQ(c.scale(), 2.0f);
}

TEST(LoraAdapter, ShapeMismatchWithTheBaseNamesTheTensor) {
  TempDir dir;
  RunPyRef({"adapter", dir.path(), "peft", "q_proj", "4", "no"});
  auto adapter = LoraAdapter::Open(dir.path());
  ASSERT_TRUE(adapter.ok());
  ModelConfig base = PyRefBase();
  base.n_heads = 8;  // wq would have 128 outputs
  base.head_dim = 16;
  auto status = (*adapter)->CheckAgainst(base, "models/base");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("adapter_model.safetensors: layers.0.attention.wq: "
                                          "lora_B has 64 rows, the base projection has 128 "
                                          "outputs"),
            std::string::npos)
      << status.error().message();
}

TEST(LoraAdapter, TargetTheBaseLacks) {
  TempDir dir;
  RunPyRef({"adapter", dir.path(), "peft", "v_proj", "4", "no"});
  auto adapter = LoraAdapter::Open(dir.path());
  ASSERT_TRUE(adapter.ok());
  ModelConfig base = PyRefBase();
  base.n_layers = 1;
  auto status = (*adapter)->CheckAgainst(base, "models/base");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("layers.1.attention.wv: the base (models/base) has only "
                                          "1 layers"),
            std::string::npos)
      << status.error().message();
}

TEST(LoraAdapter, RankMismatchWithConfig) {
  TempDir dir;
  RunPyRef({"adapter", dir.path(), "peft", "q_proj", "4", "no"});
  EditConfig(dir, [](nlohmann::json& c) { c["r"] = 8; });
  std::string message = OpenError(dir.path());
  EXPECT_NE(message.find("has rank 4"), std::string::npos) << message;
  EXPECT_NE(message.find("adapter_config r = 8"), std::string::npos) << message;
}

TEST(LoraAdapter, TensorOutsideTargetModules) {
  TempDir dir;
  RunPyRef({"adapter", dir.path(), "peft", "q_proj,v_proj", "4", "no"});
  EditConfig(dir, [](nlohmann::json& c) { c["target_modules"] = "q_proj"; });
  std::string message = OpenError(dir.path());
  EXPECT_NE(message.find("which target_modules does not list"), std::string::npos) << message;
  EditConfig(dir, [](nlohmann::json& c) { c["target_modules"] = ".*\\.(q_proj|v_proj)"; });
  EXPECT_TRUE(LoraAdapter::Open(dir.path()).ok());
  EditConfig(dir, [](nlohmann::json& c) { c["target_modules"] = {"v_proj"}; });
  message = OpenError(dir.path());
  EXPECT_NE(message.find("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight adapts"),
            std::string::npos)
      << message;
}

TEST(LoraAdapter, ConfigFieldErrors) {
  TempDir dir;
  RunPyRef({"adapter", dir.path(), "peft", "q_proj", "4", "no"});
  EditConfig(dir, [](nlohmann::json& c) { c.erase("r"); });
  EXPECT_NE(OpenError(dir.path()).find("adapter_config.json: missing field \"r\""),
            std::string::npos);
  EditConfig(dir, [](nlohmann::json& c) {
    c["r"] = 4;
    c["lora_alpha"] = "eight";
  });
  EXPECT_NE(OpenError(dir.path()).find("field \"lora_alpha\" must be a number"), std::string::npos);
}

TEST(LoraAdapter, UnknownAndUnpairedTensors) {
  TempDir dir;
  RunPyRef({"safetensors", dir / "adapter_model.safetensors"});
  std::ofstream(dir / "adapter_config.json")
      << R"({"r": 4, "lora_alpha": 8, "target_modules": ["q_proj"]})";
  EXPECT_NE(OpenError(dir.path()).find("adapter_model.safetensors: unknown tensor"),
            std::string::npos);

  // Only the A half of one pair.
  TempDir half;
  RunPyRef({"adapter", half.path(), "torchtune", "q_proj", "4", "no"});
  auto archive = LoraAdapter::Open(half.path());
  ASSERT_TRUE(archive.ok());
  std::vector<TensorRef> only_a = {(*archive)->pairs()[0].a};
  only_a[0].name = "layers.0.attn.q_proj.lora_a.weight";
  ASSERT_TRUE(WriteSafetensors(half / "a.safetensors", only_a).ok());
  std::string message = OpenError(half / "a.safetensors");
  EXPECT_NE(message.find("layers.0.attn.q_proj.lora_a.weight has lora_A but no lora_B"),
            std::string::npos)
      << message;
}

}  // namespace
}  // namespace lorashare

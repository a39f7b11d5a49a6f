// Hugging Face checkpoint directories written by pyref.py (single file,
// sharded, Llama and Qwen3, f32/bf16/f16) opened through Checkpoint::Open.
#include <gtest/gtest.h>

#include <fstream>

#include "import/checkpoint.h"
#include "import_test_util.h"

namespace lorashare {
namespace {

using testing::RunPyRef;
using testing::TempDir;

nlohmann::json MakeHf(const TempDir& dir, const std::string& arch, const std::string& dtype,
                      int shards, bool tied, bool lm_head) {
  return RunPyRef({"hf", dir.path(), arch, dtype, std::to_string(shards), tied ? "tied" : "untied",
                   lm_head ? "lm_head" : "none"});
}

void RewriteConfig(const TempDir& dir, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json config;
  std::ifstream(dir / "config.json") >> config;
  edit(config);
  std::ofstream(dir / "config.json", std::ios::trunc) << config.dump();
}

std::string OpenError(const TempDir& dir) {
  auto result = Checkpoint::Open(dir.path());
  EXPECT_FALSE(result.ok());
  return result.ok() ? "" : result.error().message();
}

TEST(HfCheckpoint, LlamaSingleFile) {
  TempDir dir;
  auto manifest = MakeHf(dir, "llama", "f32", 1, false, false);
  auto checkpoint = Checkpoint::Open(dir.path());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error().message();
  testing::ExpectTensorsMatch((*checkpoint)->tensors(), manifest["tensors"]);
  const ModelConfig& c = (*checkpoint)->config();
  EXPECT_EQ(c.arch, Architecture::kLlama);
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.hidden_dim, 96);
  EXPECT_EQ(c.vocab_size, 128);
  EXPECT_EQ(c.max_context, 512);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-6f);
  EXPECT_FLOAT_EQ(c.rope_theta, 500000.0f);
  EXPECT_TRUE(c.rope_scaling.enabled);
  EXPECT_FLOAT_EQ(c.rope_scaling.factor, 32.0f);
  EXPECT_FLOAT_EQ(c.rope_scaling.low_freq_factor, 1.0f);
  EXPECT_FLOAT_EQ(c.rope_scaling.high_freq_factor, 4.0f);
  EXPECT_EQ(c.rope_scaling.original_max_position, 8192);
  EXPECT_FALSE(c.tied_embeddings);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_EQ((*checkpoint)->tokenizer_facts().bos_id, 1);
  // config.json's [2, 3] plus generation_config.json's [3, 4].
  EXPECT_EQ((*checkpoint)->tokenizer_facts().eos_ids, (std::vector<int32_t>{2, 3, 4}));
  EXPECT_EQ((*checkpoint)->tokenizer_path(), dir / "tokenizer.json");
  ASSERT_NE((*checkpoint)->Find("layers.1.feed_forward.w2.weight"), nullptr);
  EXPECT_EQ((*checkpoint)->Find("layers.1.feed_forward.w2.weight")->shape,
            (std::vector<int64_t>{64, 96}));
}

TEST(HfCheckpoint, ShardedBf16) {
  TempDir dir;
  auto manifest = MakeHf(dir, "llama", "bf16", 3, false, false);
  auto checkpoint = Checkpoint::Open(dir.path());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error().message();
  testing::ExpectTensorsMatch((*checkpoint)->tensors(), manifest["tensors"]);
}

TEST(HfCheckpoint, Qwen3TiedDropsLmHead) {
  TempDir dir;
  auto manifest = MakeHf(dir, "qwen3", "f16", 2, true, true);
  auto checkpoint = Checkpoint::Open(dir.path());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error().message();
  testing::ExpectTensorsMatch((*checkpoint)->tensors(), manifest["tensors"]);
  const ModelConfig& c = (*checkpoint)->config();
  EXPECT_EQ(c.arch, Architecture::kQwen3);
  EXPECT_EQ(c.head_dim, 32);  // explicit, not hidden / heads
  EXPECT_TRUE(c.qk_norm);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_FALSE(c.rope_scaling.enabled);
  EXPECT_EQ((*checkpoint)->Find("output.weight"), nullptr);
  EXPECT_NE((*checkpoint)->Find("layers.0.attention.q_norm.weight"), nullptr);
}

TEST(HfCheckpoint, DefaultsWhenOptionalFieldsAreAbsent) {
  TempDir dir;
  MakeHf(dir, "llama", "f32", 1, false, false);
  RewriteConfig(dir, [](nlohmann::json& c) {
    c.erase("architectures");
    c.erase("rope_theta");
    c.erase("rope_scaling");
    c.erase("tie_word_embeddings");
    c.erase("num_key_value_heads");
  });
  // Without num_key_value_heads the k/v projections would be [64, 64].
  std::string message = OpenError(dir);
  EXPECT_NE(message.find("layers.0.attention.wk.weight has shape [32, 64], the config implies "
                         "[64, 64]"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("model.layers.0.self_attn.k_proj.weight"), std::string::npos) << message;
  RewriteConfig(dir, [](nlohmann::json& c) { c["num_key_value_heads"] = 2; });
  auto checkpoint = Checkpoint::Open(dir.path());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error().message();
  EXPECT_FLOAT_EQ((*checkpoint)->config().rope_theta, 10000.0f);
  EXPECT_FALSE((*checkpoint)->config().rope_scaling.enabled);
  EXPECT_FALSE((*checkpoint)->config().tied_embeddings);
}

TEST(HfCheckpoint, MissingRequiredFieldNamesConfigAndField) {
  for (const char* field :
       {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
        "vocab_size", "max_position_embeddings", "rms_norm_eps"}) {
    TempDir dir;
    MakeHf(dir, "llama", "f32", 1, false, false);
    RewriteConfig(dir, [&](nlohmann::json& c) { c.erase(field); });
    std::string message = OpenError(dir);
    EXPECT_NE(message.find("config.json: missing field \"" + std::string(field) + "\""),
              std::string::npos)
        << message;
  }
}

TEST(HfCheckpoint, WrongTypedFieldNamesConfigAndField) {
  const std::vector<std::pair<std::string, nlohmann::json>> cases = {
      {"hidden_size", "64"},       {"num_attention_heads", 4.5},
      {"rms_norm_eps", "small"},   {"tie_word_embeddings", 1},
      {"eos_token_id", "eos"},     {"rope_scaling", 3},
      {"num_hidden_layers", 1e12}, {"vocab_size", nlohmann::json::array()},
  };
  for (const auto& entry : cases) {
    const std::string& field = entry.first;
    TempDir dir;
    MakeHf(dir, "llama", "f32", 1, false, false);
    RewriteConfig(dir, [&entry](nlohmann::json& c) { c[entry.first] = entry.second; });
    std::string message = OpenError(dir);
    EXPECT_NE(message.find("config.json"), std::string::npos) << message;
    EXPECT_NE(message.find("\"" + field + "\""), std::string::npos) << field << ": " << message;
  }
}

TEST(HfCheckpoint, RopeScalingFieldsAreChecked) {
  TempDir dir;
  MakeHf(dir, "llama", "f32", 1, false, false);
  RewriteConfig(dir, [](nlohmann::json& c) { c["rope_scaling"].erase("low_freq_factor"); });
  std::string message = OpenError(dir);
  EXPECT_NE(message.find("config.json: rope_scaling: missing field \"low_freq_factor\""),
            std::string::npos)
      << message;
  RewriteConfig(dir, [](nlohmann::json& c) {
    c["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}};
  });
  message = OpenError(dir);
  EXPECT_NE(message.find("only \"llama3\" scaling"), std::string::npos) << message;
}

TEST(HfCheckpoint, UnknownArchitectureIsRefused) {
  TempDir dir;
  MakeHf(dir, "llama", "f32", 1, false, false);
  RewriteConfig(dir, [](nlohmann::json& c) {
    c["architectures"] = {"MistralForCausalLM"};
    c["model_type"] = "mistral";
  });
  EXPECT_NE(OpenError(dir).find("MistralForCausalLM"), std::string::npos);
}

TEST(HfCheckpoint, MissingLmHeadWhenUntied) {
  TempDir dir;
  MakeHf(dir, "llama", "f32", 1, true, false);
  RewriteConfig(dir, [](nlohmann::json& c) { c["tie_word_embeddings"] = false; });
  EXPECT_NE(OpenError(dir).find("tensor output.weight is missing"), std::string::npos);
}

TEST(HfCheckpoint, UnknownTensorIsAnError) {
  TempDir dir;
  MakeHf(dir, "llama", "f32", 1, false, false);
  RewriteConfig(dir, [](nlohmann::json& c) { c["num_hidden_layers"] = 1; });
  std::string message = OpenError(dir);
  EXPECT_NE(message.find("model.safetensors: model.layers.1."), std::string::npos) << message;
  EXPECT_NE(message.find("unexpected tensor layers.1."), std::string::npos) << message;
}

TEST(HfCheckpoint, ShardIndexMustMatchTheShards) {
  TempDir dir;
  MakeHf(dir, "llama", "f32", 2, false, false);
  nlohmann::json index;
  std::ifstream(dir / "model.safetensors.index.json") >> index;
  const nlohmann::json original = index;
  index["weight_map"]["model.norm.weight"] = "../model-00001-of-00002.safetensors";
  std::ofstream(dir / "model.safetensors.index.json", std::ios::trunc) << index.dump();
  EXPECT_NE(OpenError(dir).find("names bad file"), std::string::npos);
  index = original;
  index["weight_map"]["model.extra.weight"] = "model-00002-of-00002.safetensors";
  std::ofstream(dir / "model.safetensors.index.json", std::ios::trunc) << index.dump();
  EXPECT_NE(OpenError(dir).find("model.extra.weight is listed in"), std::string::npos);
}

TEST(HfCheckpoint, NoWeightsFile) {
  TempDir dir;
  MakeHf(dir, "llama", "f32", 1, false, false);
  std::filesystem::remove(dir / "model.safetensors");
  EXPECT_NE(OpenError(dir).find("no model.safetensors"), std::string::npos);
}

}  // namespace
}  // namespace lorashare

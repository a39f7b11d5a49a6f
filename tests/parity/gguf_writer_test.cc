// GGUF writer checked with llama.cpp's own reader (gguf-py, through
// gguf_dump.py), which also undoes the q/k row permutation with numpy.
#include "testmodel/gguf_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numbers>
#include <set>

#include "base/output_file.h"
#include "gguf_py.h"
#include "random_model.h"
#include "test_util.h"

namespace lorashare::testing {
namespace {

using nlohmann::json;

// Compares a dumped tensor with the one written: ggml dims are the reverse of
// the row-major shape; values equal (f32) or within f16 rounding.
void ExpectTensor(const json& dump, const std::string& gguf_name, const TensorRef& source,
                  const std::string& type = "F32") {
  SCOPED_TRACE(gguf_name);
  const json* tensor = FindTensor(dump, gguf_name);
  ASSERT_NE(tensor, nullptr);
  EXPECT_EQ((*tensor)["type"], type);
  std::vector<int64_t> ne(source.shape.rbegin(), source.shape.rend());
  EXPECT_EQ((*tensor)["ne"].get<std::vector<int64_t>>(), ne);
  EXPECT_EQ((*tensor)["offset"].get<uint64_t>() % 32, 0u);
  const std::vector<float> expected = AsFloats(source);
  const std::vector<float> actual = (*tensor)["data"].get<std::vector<float>>();
  ASSERT_EQ(actual.size(), expected.size());
  const float tolerance = type == "F16" ? 1.0f / 1024 : 0.0f;
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_NEAR(actual[i], expected[i], tolerance * std::fabs(expected[i])) << "element " << i;
  }
}

std::string GgufName(const std::string& canonical) {
  static const std::pair<std::string, std::string> kRenames[] = {
      {"attention_norm", "attn_norm"},     {"attention.wq", "attn_q"},
      {"attention.wk", "attn_k"},          {"attention.wv", "attn_v"},
      {"attention.wo", "attn_output"},     {"attention.q_norm", "attn_q_norm"},
      {"attention.k_norm", "attn_k_norm"}, {"ffn_norm", "ffn_norm"},
      {"feed_forward.w1", "ffn_gate"},     {"feed_forward.w2", "ffn_down"},
      {"feed_forward.w3", "ffn_up"}};
  if (canonical == "tok_embeddings.weight") return "token_embd.weight";
  if (canonical == "norm.weight") return "output_norm.weight";
  if (canonical == "output.weight") return "output.weight";
  const size_t layer_end = canonical.find('.', 7);
  const std::string layer = canonical.substr(7, layer_end - 7);
  const std::string rest = canonical.substr(layer_end + 1, canonical.size() - layer_end - 8);
  for (const auto& [from, to] : kRenames) {
    if (rest == from) return "blk." + layer + "." + to + ".weight";
  }
  ADD_FAILURE() << "no GGUF name for " << canonical;
  return "";
}

class GgufWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveGgufPy()) GTEST_SKIP() << "third_party/llama.cpp-src missing: run scripts/setup.sh";
  }
  TempDir dir_;
};

TEST_F(GgufWriterTest, LlamaMetadataTensorsAndPermutedRows) {
  RandomModel model = MakeRandomModel(Architecture::kLlama, 7);
  const std::string path = dir_ / "model.gguf";
  Status status = WriteModelGguf(path, model.config, model.tokenizer, model.tensors);
  ASSERT_TRUE(status.ok()) << status.error().message();
  json dump = DumpGguf(dir_, path);
  const json& f = dump["fields"];
  EXPECT_EQ(f["general.architecture"], "llama");
  EXPECT_EQ(f["llama.block_count"], 2);
  EXPECT_EQ(f["llama.embedding_length"], 64);
  EXPECT_EQ(f["llama.feed_forward_length"], 96);
  EXPECT_EQ(f["llama.attention.head_count"], 4);
  EXPECT_EQ(f["llama.attention.head_count_kv"], 2);
  EXPECT_EQ(f["llama.attention.key_length"], 16);
  EXPECT_EQ(f["llama.attention.value_length"], 16);
  EXPECT_EQ(f["llama.rope.dimension_count"], 16);
  EXPECT_EQ(f["llama.context_length"], 256);
  EXPECT_EQ(f["llama.vocab_size"], 320);
  EXPECT_EQ(f["llama.rope.freq_base"].get<float>(), 500000.0f);
  EXPECT_EQ(f["llama.attention.layer_norm_rms_epsilon"].get<float>(), 1e-5f);
  EXPECT_EQ(dump["value_types"]["llama.block_count"], "UINT32");
  EXPECT_EQ(dump["value_types"]["llama.rope.freq_base"], "FLOAT32");

  EXPECT_EQ(f["tokenizer.ggml.model"], "gpt2");
  const auto tokens = f["tokenizer.ggml.tokens"].get<std::vector<std::string>>();
  EXPECT_EQ(tokens.size(), 320u);
  EXPECT_EQ(std::set<std::string>(tokens.begin(), tokens.end()).size(), tokens.size());
  EXPECT_EQ(tokens['A'], "A");
  EXPECT_EQ(tokens[' '], "\xC4\xA0");  // GPT-2's stand-in for a space: U+0120
  EXPECT_EQ(tokens['\n'], "\xC4\x8A");
  EXPECT_GE(f["tokenizer.ggml.merges"].size(), 1u);
  EXPECT_EQ(f["tokenizer.ggml.token_type"].size(), 320u);
  EXPECT_EQ(f["tokenizer.ggml.token_type"][1], 3);  // bos is a control token
  EXPECT_EQ(f["tokenizer.ggml.bos_token_id"], 1);
  EXPECT_EQ(f["tokenizer.ggml.eos_token_id"], 2);

  // Every tensor under its llama.cpp name, q/k rows permuted (gguf_dump.py
  // permutes them back), plus rope_freqs.
  EXPECT_EQ(dump["tensors"].size(), model.tensors.size() + 1);
  for (const TensorRef& tensor : model.tensors) ExpectTensor(dump, GgufName(tensor.name), tensor);

  // Llama 3 scaling as Hugging Face computes it: the scaled inverse
  // frequency; llama.cpp divides by the factor instead.
  const json* rope_freqs = FindTensor(dump, "rope_freqs.weight");
  ASSERT_NE(rope_freqs, nullptr);
  const auto factors = (*rope_freqs)["data"].get<std::vector<float>>();
  ASSERT_EQ(factors.size(), 8u);
  const RopeScaling& s = model.config.rope_scaling;
  std::set<std::string> bands;
  for (int i = 0; i < 8; ++i) {
    const double inv_freq = 1.0 / std::pow(500000.0, 2.0 * i / 16);
    const double wavelen = 2 * std::numbers::pi / inv_freq;
    double scaled = inv_freq;
    if (wavelen > s.original_max_position / s.low_freq_factor) {
      scaled = inv_freq / s.factor;
      bands.insert("low");
    } else if (wavelen >= s.original_max_position / s.high_freq_factor) {
      const double smooth = (s.original_max_position / wavelen - s.low_freq_factor) /
                            (s.high_freq_factor - s.low_freq_factor);
      scaled = (1 - smooth) * inv_freq / s.factor + smooth * inv_freq;
      bands.insert("medium");
    } else {
      bands.insert("high");
    }
    EXPECT_NEAR(factors[i], inv_freq / scaled, 1e-5 * inv_freq / scaled) << "frequency " << i;
  }
  EXPECT_EQ(bands.size(), 3u) << "the test model should exercise every band";
}

TEST_F(GgufWriterTest, Qwen3KeepsRowsAndTiesEmbeddings) {
  RandomModel model = MakeRandomModel(Architecture::kQwen3, 8);
  const std::string path = dir_ / "model.gguf";
  Status status = WriteModelGguf(path, model.config, model.tokenizer, model.tensors);
  ASSERT_TRUE(status.ok()) << status.error().message();
  json dump = DumpGguf(dir_, path);
  EXPECT_EQ(dump["fields"]["general.architecture"], "qwen3");
  EXPECT_EQ(dump["fields"]["qwen3.attention.key_length"], 32);
  EXPECT_EQ(dump["fields"]["qwen3.rope.freq_base"].get<float>(), 1000000.0f);
  EXPECT_EQ(FindTensor(dump, "output.weight"), nullptr);
  EXPECT_EQ(FindTensor(dump, "rope_freqs.weight"), nullptr);
  EXPECT_EQ(dump["tensors"].size(), model.tensors.size());
  for (const TensorRef& tensor : model.tensors) ExpectTensor(dump, GgufName(tensor.name), tensor);
}

TEST_F(GgufWriterTest, F16MatricesKeepF32Norms) {
  RandomModel model = MakeRandomModel(Architecture::kLlama, 9, /*llama3_rope_scaling=*/false);
  const std::string path = dir_ / "model.gguf";
  Status status = WriteModelGguf(path, model.config, model.tokenizer, model.tensors,
                                 {.matrix_type = GgmlType::kF16});
  ASSERT_TRUE(status.ok()) << status.error().message();
  json dump = DumpGguf(dir_, path);
  EXPECT_EQ(dump["fields"]["general.file_type"], 1);
  EXPECT_EQ(FindTensor(dump, "rope_freqs.weight"), nullptr);
  ExpectTensor(dump, "blk.1.attn_k.weight", model.Get("layers.1.attention.wk.weight"), "F16");
  ExpectTensor(dump, "token_embd.weight", model.Get("tok_embeddings.weight"), "F16");
  ExpectTensor(dump, "blk.0.ffn_norm.weight", model.Get("layers.0.ffn_norm.weight"), "F32");
}

TEST_F(GgufWriterTest, LoraAdapterPairs) {
  for (Architecture arch : {Architecture::kLlama, Architecture::kQwen3}) {
    SCOPED_TRACE(std::string(ArchitectureName(arch)));
    RandomModel model = MakeRandomModel(arch, 10);
    const std::string path = dir_ / "lora.gguf";
    Status status = WriteLoraGguf(path, model.lora, model.lora_scale, model.config);
    ASSERT_TRUE(status.ok()) << status.error().message();
    json dump = DumpGguf(dir_, path, "--heads 4 2");
    const json& f = dump["fields"];
    EXPECT_EQ(f["general.architecture"], ArchitectureName(arch));
    EXPECT_EQ(f["general.type"], "adapter");
    EXPECT_EQ(f["adapter.type"], "lora");
    // llama.cpp scales by alpha / rank (rank 4).
    EXPECT_EQ(f["adapter.lora.alpha"].get<float>() / 4, model.lora_scale);
    EXPECT_EQ(dump["tensors"].size(), 2 * model.lora.size());
    for (const LoraPair& pair : model.lora) {
      const std::string base = GgufName(pair.target + ".weight");
      ExpectTensor(dump, base + ".lora_a", pair.a);
      ExpectTensor(dump, base + ".lora_b", pair.b);
    }
  }
}

TEST_F(GgufWriterTest, RefusesIncompleteOrMismatchedInput) {
  RandomModel model = MakeRandomModel(Architecture::kLlama, 11);
  const std::string path = dir_ / "model.gguf";

  std::vector<TensorRef> missing = model.tensors;
  missing.pop_back();
  Status status = WriteModelGguf(path, model.config, model.tokenizer, missing);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(status.error().message().find("layers.1.feed_forward.w2.weight"), std::string::npos)
      << status.error().message();

  std::vector<TensorRef> reshaped = model.tensors;
  reshaped[0].shape = {64, 320};
  status = WriteModelGguf(path, model.config, model.tokenizer, reshaped);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::kMismatch);
  EXPECT_NE(status.error().message().find("tok_embeddings.weight"), std::string::npos);

  std::vector<TensorRef> extra = model.tensors;
  extra.push_back(model.tensors[0]);
  extra.back().name = "layers.0.attention.wz.weight";
  status = WriteModelGguf(path, model.config, model.tokenizer, extra);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::kUnsupported);

  TokenizerFacts bad_eos = model.tokenizer;
  bad_eos.eos_ids = {320};
  status = WriteModelGguf(path, model.config, bad_eos, model.tensors);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::kMismatch);

  std::vector<LoraPair> lora = model.lora;
  lora[0].target = "layers.7.attention.wq";
  status = WriteLoraGguf(path, lora, 1.0f, model.config);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::kMismatch);

  lora = model.lora;
  lora[1].b.shape = {32, 2};
  status = WriteLoraGguf(path, lora, 1.0f, model.config);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find(lora[1].b.name), std::string::npos);

  EXPECT_FALSE(std::filesystem::exists(path)) << "a failed write must leave nothing behind";
}

}  // namespace
}  // namespace lorashare::testing

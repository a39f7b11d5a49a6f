#include "random_model.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "base/output_file.h"
#include "testmodel/hf_config_json.h"
#include "testmodel/hf_names.h"
#include "testmodel/safetensors_writer.h"

namespace lorashare::testing {
namespace {

TensorRef RandomTensor(std::string name, std::vector<int64_t> shape, float mean, float stddev,
                       std::mt19937& rng) {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  auto values = std::make_shared<std::vector<float>>(count);
  std::normal_distribution<float> normal(mean, stddev);
  for (float& value : *values) value = normal(rng);
  TensorRef tensor;
  tensor.name = std::move(name);
  tensor.shape = std::move(shape);
  tensor.bytes = {reinterpret_cast<const uint8_t*>(values->data()), values->size() * sizeof(float)};
  tensor.keep_alive = values;
  return tensor;
}

void WriteFloats(const std::string& path, const TensorRef& tensor) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(tensor.bytes.data()),
            static_cast<std::streamsize>(tensor.bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

}  // namespace

const TensorRef& RandomModel::Get(const std::string& name) const {
  for (const TensorRef& tensor : tensors) {
    if (tensor.name == name) return tensor;
  }
  ADD_FAILURE() << "no tensor " << name;
  return tensors.front();
}

std::vector<float> AsFloats(const TensorRef& tensor) {
  const auto* data = reinterpret_cast<const float*>(tensor.bytes.data());
  return {data, data + tensor.bytes.size() / sizeof(float)};
}

RandomModel MakeRandomModel(Architecture arch, uint32_t seed, bool llama3_rope_scaling) {
  RandomModel model;
  ModelConfig& c = model.config;
  c.arch = arch;
  c.dim = 64;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = arch == Architecture::kQwen3 ? 32 : 16;
  c.hidden_dim = 96;
  c.vocab_size = 320;
  c.max_context = 256;
  c.norm_eps = 1e-5f;
  c.rope_theta = arch == Architecture::kQwen3 ? 1000000.0f : 500000.0f;
  c.qk_norm = arch == Architecture::kQwen3;
  c.tied_embeddings = arch == Architecture::kQwen3;
  if (arch == Architecture::kLlama && llama3_rope_scaling) {
    // Original context small enough that some frequencies fall in each band.
    c.rope_scaling = {true, 8.0f, 1.0f, 4.0f, 64};
  }
  model.tokenizer.bos_id = 1;
  model.tokenizer.eos_ids = {2};

  std::mt19937 rng(seed);
  auto add = [&](std::string name, std::vector<int64_t> shape, float mean, float stddev) {
    model.tensors.push_back(RandomTensor(std::move(name), std::move(shape), mean, stddev, rng));
  };
  const int64_t q_rows = int64_t{c.n_heads} * c.head_dim;
  const int64_t kv_rows = int64_t{c.n_kv_heads} * c.head_dim;
  // Tied embeddings: small rows, so that the input token's own logit does not
  // dominate (greedy decoding would repeat one token), and a large final norm
  // weight to keep the logits spread.
  add("tok_embeddings.weight", {c.vocab_size, c.dim}, 0, c.tied_embeddings ? 0.1f : 1.0f);
  add("norm.weight", {c.dim}, c.tied_embeddings ? 6.0f : 1.0f, 0.1f);
  if (!c.tied_embeddings) add("output.weight", {c.vocab_size, c.dim}, 0, 0.5f);
  for (int layer = 0; layer < c.n_layers; ++layer) {
    const std::string p = "layers." + std::to_string(layer) + ".";
    add(p + "attention_norm.weight", {c.dim}, 1, 0.1f);
    add(p + "attention.wq.weight", {q_rows, c.dim}, 0, 0.25f);
    add(p + "attention.wk.weight", {kv_rows, c.dim}, 0, 0.25f);
    add(p + "attention.wv.weight", {kv_rows, c.dim}, 0, 0.15f);
    add(p + "attention.wo.weight", {c.dim, q_rows}, 0, 0.1f);
    if (c.qk_norm) {
      add(p + "attention.q_norm.weight", {c.head_dim}, 1, 0.1f);
      add(p + "attention.k_norm.weight", {c.head_dim}, 1, 0.1f);
    }
    add(p + "ffn_norm.weight", {c.dim}, 1, 0.1f);
    add(p + "feed_forward.w1.weight", {c.hidden_dim, c.dim}, 0, 0.15f);
    add(p + "feed_forward.w3.weight", {c.hidden_dim, c.dim}, 0, 0.15f);
    add(p + "feed_forward.w2.weight", {c.dim, c.hidden_dim}, 0, 0.1f);
  }

  const int64_t rank = 4;
  model.lora_scale = 2.0f;
  for (int layer = 0; layer < c.n_layers; ++layer) {
    const std::string p = "layers." + std::to_string(layer) + ".";
    const std::pair<std::string, std::pair<int64_t, int64_t>> targets[] = {
        {"attention.wq", {q_rows, c.dim}},
        {"attention.wk", {kv_rows, c.dim}},
        {"attention.wv", {kv_rows, c.dim}},
        {"feed_forward.w2", {c.dim, c.hidden_dim}}};
    for (const auto& [target, out_in] : targets) {
      LoraPair pair;
      pair.target = p + target;
      pair.a = RandomTensor(pair.target + ".lora_a", {rank, out_in.second}, 0, 0.2f, rng);
      pair.b = RandomTensor(pair.target + ".lora_b", {out_in.first, rank}, 0, 0.2f, rng);
      model.lora.push_back(std::move(pair));
    }
  }
  return model;
}

void DumpForNumpy(const RandomModel& model, const std::string& dir) {
  nlohmann::ordered_json config = HfConfigJson(model.config, model.tokenizer, DType::kF32);
  config["lora_scale"] = model.lora_scale;
  nlohmann::json lora_targets = nlohmann::json::array();
  for (const LoraPair& pair : model.lora) lora_targets.push_back(pair.target);
  config["lora_targets"] = lora_targets;
  std::ofstream(dir + "/config.json") << config.dump(2);
  for (const TensorRef& tensor : model.tensors)
    WriteFloats(dir + "/" + tensor.name + ".f32", tensor);
  for (const LoraPair& pair : model.lora) {
    WriteFloats(dir + "/" + pair.a.name + ".f32", pair.a);
    WriteFloats(dir + "/" + pair.b.name + ".f32", pair.b);
  }
}

void WriteHfCheckpoint(const RandomModel& model, const std::string& dir,
                       const std::string& adapter_dir) {
  std::filesystem::create_directories(dir);
  std::filesystem::create_directories(adapter_dir);
  ASSERT_TRUE(WriteWholeFile(dir + "/config.json",
                             HfConfigJson(model.config, model.tokenizer, DType::kF32).dump(2))
                  .ok());
  std::vector<TensorRef> hf = model.tensors;
  for (TensorRef& tensor : hf) tensor.name = HfTensorName(tensor.name);
  Status status = WriteSafetensors(dir + "/model.safetensors", hf);
  ASSERT_TRUE(status.ok()) << status.error().message();

  // PEFT: base_model.model.<module>.lora_A.weight / lora_B.weight; alpha such
  // that alpha / rank is the scale.
  std::vector<TensorRef> peft;
  std::set<std::string> modules;
  for (const LoraPair& pair : model.lora) {
    std::string module = HfTensorName(pair.target + ".weight");
    module.resize(module.size() - std::string(".weight").size());
    modules.insert(module.substr(module.rfind('.') + 1));
    peft.push_back(pair.a);
    peft.back().name = "base_model.model." + module + ".lora_A.weight";
    peft.push_back(pair.b);
    peft.back().name = "base_model.model." + module + ".lora_B.weight";
  }
  const int64_t rank = model.lora.front().a.shape[0];
  nlohmann::json config = {
      {"peft_type", "LORA"}, {"task_type", "CAUSAL_LM"},
      {"r", rank},           {"lora_alpha", model.lora_scale * static_cast<float>(rank)},
      {"use_rslora", false}, {"fan_in_fan_out", false},
      {"bias", "none"},      {"target_modules", modules}};
  ASSERT_TRUE(WriteWholeFile(adapter_dir + "/adapter_config.json", config.dump(2)).ok());
  status = WriteSafetensors(adapter_dir + "/adapter_model.safetensors", peft);
  ASSERT_TRUE(status.ok()) << status.error().message();
}

}  // namespace lorashare::testing

#include "tiny_model.h"

#include <cmath>
#include <cstring>
#include <random>
#include <set>

#include "base/output_file.h"
#include "format/ptd.h"
#include "kernels/half.h"
#include "kernels/quantize.h"
#include "testmodel/hf_config_json.h"

namespace lorashare::testing_tiny {
namespace {

float RoundTo(DType dtype, float value) {
  switch (dtype) {
    case DType::kBF16:
      return BF16ToF32(F32ToBF16(value));
    case DType::kF16:
      return F16ToF32(F32ToF16(value));
    default:
      return value;
  }
}

Tensor RandomTensor(std::mt19937& rng, DType dtype, std::vector<int64_t> shape, float lo,
                    float hi) {
  Tensor t{dtype, std::move(shape), {}};
  int64_t count = 1;
  for (int64_t d : t.shape) count *= d;
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < count; ++i) t.values.push_back(RoundTo(dtype, dist(rng)));
  return t;
}

std::string LayerName(int layer, const std::string& name) {
  return "layers." + std::to_string(layer) + "." + name;
}

// The checkpoint name (import/checkpoint.h) of a tensor, as the numpy
// reference reads it: "layers.0.wq" is "layers.0.attention.wq.weight".
std::string CheckpointName(const std::string& name) {
  static const std::set<std::string> kAttention = {"wq", "wk", "wv", "wo", "q_norm", "k_norm"};
  static const std::set<std::string> kFeedForward = {"w1", "w2", "w3"};
  const size_t dot = name.rfind('.');
  const std::string leaf = dot == std::string::npos ? name : name.substr(dot + 1);
  const std::string layer = name.substr(0, name.size() - leaf.size());
  if (kAttention.contains(leaf)) return layer + "attention." + leaf + ".weight";
  if (kFeedForward.contains(leaf)) return layer + "feed_forward." + leaf + ".weight";
  return name + ".weight";
}

// Builds the instruction list over named values, as the exporter does.
class SpecBuilder {
 public:
  SpecBuilder(ProgramSpec& spec, const Weights& weights) : spec_(spec), weights_(weights) {}

  int32_t Value(const std::string& name, int32_t width) {
    spec_.values.push_back({name, width});
    return static_cast<int32_t>(spec_.values.size() - 1);
  }

  int32_t AddTensor(const std::string& name, const Tensor& t, int32_t data_file, int32_t segment) {
    TensorSpec spec{.name = name,
                    .dtype = t.dtype,
                    .layout = t.layout,
                    .group_size = static_cast<int32_t>(t.group_size),
                    .shape = t.shape,
                    .nbytes = t.Bytes().size(),
                    .segment = segment,
                    .data_file = segment >= 0 ? -1 : data_file,
                    .key = segment >= 0 ? "" : name};
    spec_.tensors.push_back(spec);
    return static_cast<int32_t>(spec_.tensors.size() - 1);
  }

  int32_t Foundation(const std::string& name) {
    auto it = foundation_index_.find(name);
    if (it != foundation_index_.end()) return it->second;
    return foundation_index_[name] = AddTensor(name, weights_.at(name), 0, -1);
  }

  void Emit(OpCode op, std::vector<int32_t> in, int32_t out, std::vector<int32_t> tensors = {},
            std::vector<int64_t> ints = {}, std::vector<float> floats = {}) {
    spec_.instructions.push_back(
        {op, std::move(in), {out}, std::move(tensors), std::move(ints), std::move(floats)});
  }

  int32_t Linear(int32_t x, const std::string& weight, const std::string& out_name) {
    const Tensor& w = weights_.at(weight);
    const int32_t y = Value(out_name, static_cast<int32_t>(w.shape[0]));
    Emit(OpCode::kLinear, {x}, y, {Foundation(weight)});
    return y;
  }

 private:
  ProgramSpec& spec_;
  const Weights& weights_;
  std::map<std::string, int32_t> foundation_index_;
};

}  // namespace

std::vector<uint8_t> Tensor::Bytes() const {
  if (layout != WeightLayout::kPlain) {
    return PackMatrix(values.data(), shape[0], shape[1], layout, group_size).value();
  }
  std::vector<uint8_t> bytes(values.size() * DTypeSize(dtype));
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::kF32) {
      std::memcpy(&bytes[4 * i], &values[i], 4);
    } else {
      const uint16_t h = dtype == DType::kF16 ? F32ToF16(values[i]) : F32ToBF16(values[i]);
      std::memcpy(&bytes[2 * i], &h, 2);
    }
  }
  return bytes;
}

TinyConfig LlamaConfig() {
  TinyConfig c;
  c.model = {.arch = Architecture::kLlama,
             .dim = 48,
             .n_layers = 2,
             .n_heads = 6,
             .n_kv_heads = 2,
             .head_dim = 8,
             .hidden_dim = 80,
             .vocab_size = 97,
             .max_context = 64,
             .norm_eps = 1e-5f,
             .rope_theta = 500000.0f,
             .rope_scaling = {.enabled = true,
                              .factor = 8,
                              .low_freq_factor = 1,
                              .high_freq_factor = 4,
                              .original_max_position = 16},
             .tied_embeddings = true};
  return c;
}

TinyConfig Qwen3Config() {
  TinyConfig c;
  c.model = {.arch = Architecture::kQwen3,
             .dim = 40,
             .n_layers = 2,
             .n_heads = 4,
             .n_kv_heads = 2,
             .head_dim = 16,
             .hidden_dim = 72,
             .vocab_size = 83,
             .max_context = 64,
             .norm_eps = 1e-6f,
             .rope_theta = 1000000.0f,
             .rope_scaling = {},
             .tied_embeddings = false,
             .qk_norm = true};
  c.linear_dtype = DType::kF16;
  c.norm_dtype = DType::kF32;
  c.embed_dtype = DType::kBF16;
  c.seed = 2;
  return c;
}

Weights MakeWeights(const TinyConfig& config) {
  const ModelConfig& m = config.model;
  std::mt19937 rng(config.seed);
  Weights w;
  const int64_t q = m.n_heads * m.head_dim, kv = m.n_kv_heads * m.head_dim;
  auto linear = [&](int64_t out, int64_t in) {
    const float a = 1.7f / std::sqrt(static_cast<float>(in));
    return RandomTensor(rng, config.linear_dtype, {out, in}, -a, a);
  };
  auto norm = [&](int64_t n) { return RandomTensor(rng, config.norm_dtype, {n}, 0.6f, 1.4f); };
  w["tok_embeddings"] = RandomTensor(rng, config.embed_dtype, {m.vocab_size, m.dim}, -1, 1);
  for (int l = 0; l < m.n_layers; ++l) {
    w[LayerName(l, "attention_norm")] = norm(m.dim);
    w[LayerName(l, "wq")] = linear(q, m.dim);
    w[LayerName(l, "wk")] = linear(kv, m.dim);
    w[LayerName(l, "wv")] = linear(kv, m.dim);
    w[LayerName(l, "wo")] = linear(m.dim, q);
    if (m.qk_norm) {
      w[LayerName(l, "q_norm")] = norm(m.head_dim);
      w[LayerName(l, "k_norm")] = norm(m.head_dim);
    }
    w[LayerName(l, "ffn_norm")] = norm(m.dim);
    w[LayerName(l, "w1")] = linear(m.hidden_dim, m.dim);
    w[LayerName(l, "w3")] = linear(m.hidden_dim, m.dim);
    w[LayerName(l, "w2")] = linear(m.dim, m.hidden_dim);
  }
  w["norm"] = norm(m.dim);
  if (!m.tied_embeddings) w["output"] = linear(m.vocab_size, m.dim);
  return w;
}

Weights Quantize(const Weights& weights, WeightLayout linear, int64_t group_size,
                 WeightLayout embedding) {
  Weights out = weights;
  for (auto& [name, t] : out) {
    const bool is_embedding = name == "tok_embeddings";
    if (t.shape.size() != 2 || (is_embedding && embedding == WeightLayout::kPlain)) continue;
    t.layout = is_embedding ? embedding : linear;
    t.group_size = t.layout == WeightLayout::kQ4Group ? group_size : 0;
    t.dtype = DType::kU8;
  }
  return out;
}

Weights Dequantize(const Weights& weights) {
  Weights out = weights;
  for (auto& [name, t] : out) {
    if (t.layout == WeightLayout::kPlain) continue;
    const std::vector<uint8_t> blob = t.Bytes();
    const MatrixView view{DType::kU8, blob.data(), t.shape[0], t.shape[1], t.layout, t.group_size};
    for (int64_t r = 0; r < t.shape[0]; ++r) DequantizeRow(view, r, &t.values[r * t.shape[1]]);
    t = {DType::kF32, t.shape, t.values};
  }
  return out;
}

Lora MakeLora(const TinyConfig& config, const Weights& weights, Lora lora) {
  std::mt19937 rng(config.seed + 100);
  for (int l = 0; l < config.model.n_layers; ++l) {
    for (const std::string& target : lora.targets) {
      const Tensor& w = weights.at(LayerName(l, target));
      const float a = 1.0f / std::sqrt(static_cast<float>(w.shape[1]));
      lora.tensors[LayerName(l, target) + ".lora_a"] =
          RandomTensor(rng, DType::kBF16, {lora.rank, w.shape[1]}, -a, a);
      lora.tensors[LayerName(l, target) + ".lora_b"] =
          RandomTensor(rng, DType::kF32, {w.shape[0], lora.rank}, -0.3f, 0.3f);
    }
  }
  return lora;
}

Weights MergeLora(const Weights& weights, const Lora& lora) {
  Weights merged = weights;
  for (auto& [name, w] : merged) {
    auto a_it = lora.tensors.find(name + ".lora_a");
    if (a_it == lora.tensors.end()) continue;
    const Tensor& a = a_it->second;
    const Tensor& b = lora.tensors.at(name + ".lora_b");
    const int64_t out = w.shape[0], in = w.shape[1];
    for (int64_t o = 0; o < out; ++o) {
      for (int64_t i = 0; i < in; ++i) {
        double delta = 0;
        for (int64_t r = 0; r < lora.rank; ++r) {
          delta += static_cast<double>(b.values[o * lora.rank + r]) * a.values[r * in + i];
        }
        w.values[o * in + i] = static_cast<float>(w.values[o * in + i] + lora.scale * delta);
      }
    }
    w.dtype = DType::kF32;
  }
  return merged;
}

Result<std::string> WriteFoundation(const std::string& path, const Weights& weights) {
  std::vector<std::vector<uint8_t>> storage;
  storage.reserve(weights.size());
  PtdWriter writer;
  for (const auto& [name, t] : weights) {
    storage.push_back(t.Bytes());
    // A packed blob is described by its bytes, as the exporter writes it.
    const std::vector<int32_t> sizes =
        t.layout == WeightLayout::kPlain
            ? std::vector<int32_t>(t.shape.begin(), t.shape.end())
            : std::vector<int32_t>{static_cast<int32_t>(storage.back().size())};
    TensorLayout layout{t.dtype, sizes, {}};
    LS_RETURN_IF_ERROR(writer.Add(name, storage.back(), layout));
  }
  return writer.Write(path);
}

ProgramSpec BuildSpec(const TinyConfig& config, const Weights& weights,
                      const std::string& foundation_fingerprint, const Lora* lora,
                      const std::string& adapter_fingerprint,
                      std::vector<std::vector<uint8_t>>* inline_segments) {
  const ModelConfig& m = config.model;
  ProgramSpec spec;
  spec.producer = "runtime tests";
  spec.model = m;
  spec.tokenizer.bos_id = 1;
  spec.tokenizer.eos_ids = {2};
  spec.data_files.push_back({"foundation.ptd", DataRole::kFoundation, foundation_fingerprint});
  if (lora != nullptr && lora->in_adapter_file) {
    spec.data_files.push_back({"adapter.ptd", DataRole::kAdapter, adapter_fingerprint});
  }
  SpecBuilder b(spec, weights);
  spec.input_value = b.Value("tokens", 1);
  const int32_t q_width = m.n_heads * m.head_dim;
  int32_t x = b.Value("x", m.dim);
  b.Emit(OpCode::kEmbedding, {spec.input_value}, x, {b.Foundation("tok_embeddings")});
  auto norm = [&](int32_t in, const std::string& weight, int32_t width, int64_t group,
                  const std::string& name) {
    const int32_t y = name.empty() ? in : b.Value(name, width);
    b.Emit(OpCode::kRmsNorm, {in}, y, {b.Foundation(weight)}, {group}, {m.norm_eps});
    return y;
  };
  auto linear = [&](int32_t in, int l, const std::string& weight) {
    const std::string name = LayerName(l, weight);
    const int32_t y = b.Linear(in, name, name + ".out");
    if (lora != nullptr && lora->tensors.count(name + ".lora_a")) {
      std::vector<int32_t> ab;
      for (const char* part : {".lora_a", ".lora_b"}) {
        const Tensor& t = lora->tensors.at(name + part);
        int32_t segment = -1;
        if (!lora->in_adapter_file) {
          inline_segments->push_back(t.Bytes());
          segment = static_cast<int32_t>(inline_segments->size() - 1);
        }
        ab.push_back(b.AddTensor(name + part, t, 1, segment));
      }
      b.Emit(OpCode::kLora, {in, y}, y, ab, {}, {lora->scale});
    }
    return y;
  };
  for (int l = 0; l < m.n_layers; ++l) {
    const int32_t h = norm(x, LayerName(l, "attention_norm"), m.dim, m.dim, LayerName(l, "h"));
    const int32_t q = linear(h, l, "wq"), k = linear(h, l, "wk"), v = linear(h, l, "wv");
    if (m.qk_norm) {
      norm(q, LayerName(l, "q_norm"), q_width, m.head_dim, "");
      norm(k, LayerName(l, "k_norm"), m.n_kv_heads * m.head_dim, m.head_dim, "");
    }
    b.Emit(OpCode::kRope, {q}, q, {}, {m.n_heads, m.head_dim});
    b.Emit(OpCode::kRope, {k}, k, {}, {m.n_kv_heads, m.head_dim});
    const int32_t attn = b.Value(LayerName(l, "attn"), q_width);
    b.Emit(OpCode::kAttention, {q, k, v}, attn, {}, {l, m.n_heads, m.n_kv_heads, m.head_dim});
    b.Emit(OpCode::kAdd, {x, linear(attn, l, "wo")}, x);
    const int32_t h2 = norm(x, LayerName(l, "ffn_norm"), m.dim, m.dim, LayerName(l, "h2"));
    const int32_t gate = linear(h2, l, "w1"), up = linear(h2, l, "w3");
    const int32_t act = b.Value(LayerName(l, "act"), m.hidden_dim);
    b.Emit(OpCode::kSwiGlu, {gate, up}, act);
    b.Emit(OpCode::kAdd, {x, linear(act, l, "w2")}, x);
  }
  const int32_t last = b.Value("last", m.dim);
  b.Emit(OpCode::kLastToken, {x}, last);
  const int32_t final_norm = norm(last, "norm", m.dim, m.dim, "final_norm");
  spec.output_value =
      b.Linear(final_norm, m.tied_embeddings ? "tok_embeddings" : "output", "logits");
  if (lora != nullptr) {
    spec.adapter = AdapterSpec{"tiny",      lora->rank, lora->scale * lora->rank,
                               lora->scale, false,      lora->targets};
  }
  return spec;
}

Status WriteTinyProgram(const std::string& path, const TinyConfig& config, const Weights& weights,
                        const std::string& foundation_fingerprint, const Lora* lora,
                        const std::string& adapter_path) {
  std::string adapter_fingerprint;
  if (lora != nullptr && lora->in_adapter_file) {
    LS_ASSIGN_OR_RETURN(adapter_fingerprint, WriteFoundation(adapter_path, lora->tensors));
  }
  std::vector<std::vector<uint8_t>> segments;
  const ProgramSpec spec =
      BuildSpec(config, weights, foundation_fingerprint, lora, adapter_fingerprint, &segments);
  std::vector<std::span<const uint8_t>> views(segments.begin(), segments.end());
  return WriteProgram(path, spec, views);
}

Status WriteReferenceWeights(const std::string& dir, const TinyConfig& config,
                             const Weights& weights) {
  for (const auto& [name, t] : weights) {
    const auto* bytes = reinterpret_cast<const char*>(t.values.data());
    LS_RETURN_IF_ERROR(WriteWholeFile(dir + "/" + CheckpointName(name) + ".f32",
                                      std::string_view(bytes, t.values.size() * 4)));
  }
  const std::string json = HfConfigJson(config.model, TokenizerFacts{}, DType::kF32).dump(1);
  return WriteWholeFile(dir + "/config.json", json);
}

}  // namespace lorashare::testing_tiny

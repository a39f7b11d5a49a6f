// Tiny Llama/Qwen3 models written by the runtime tests: random weights in
// the chosen dtypes, a foundation .ptd, .pte programs (base, and base + LoRA)
// built the way the exporter lays them out, and a plain copy of every weight
// (raw little-endian f32 + config.json) for the numpy reference.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "format/dtype.h"
#include "format/model_config.h"
#include "format/program.h"
#include "format/weight_layout.h"

namespace lorashare::testing_tiny {

struct TinyConfig {
  ModelConfig model;
  DType linear_dtype = DType::kBF16;
  DType norm_dtype = DType::kBF16;  // not f32: exercises conversion at load
  DType embed_dtype = DType::kF16;
  uint32_t seed = 1;
};

TinyConfig LlamaConfig();  // GQA, Llama-3 rope scaling, tied embeddings
TinyConfig Qwen3Config();  // q/k norm, head_dim != dim / n_heads, untied

// f32 values exactly representable in the tensor's stored dtype; a packed
// layout (dtype u8) stores them quantized (PackMatrix), see Dequantize.
struct Tensor {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::vector<float> values;
  WeightLayout layout = WeightLayout::kPlain;
  int64_t group_size = 0;
  std::vector<uint8_t> Bytes() const;
};
using Weights = std::map<std::string, Tensor>;  // by HF-like name

Weights MakeWeights(const TinyConfig& config);

// The weights with every linear layer packed in `linear` (group size
// `group_size` for kQ4Group) and the embedding table in `embedding` (with
// tied embeddings the output layer reads that table too).
Weights Quantize(const Weights& weights, WeightLayout linear, int64_t group_size,
                 WeightLayout embedding);
// Packed tensors replaced by their dequantized f32 values (DequantizeRow).
Weights Dequantize(const Weights& weights);

struct Lora {
  int32_t rank = 4;
  float scale = 2.0f;
  std::vector<std::string> targets = {"wq", "wv", "w2"};
  bool in_adapter_file = false;  // else inline in the .pte
  Weights tensors;               // "<layer weight name>.lora_a" / ".lora_b"
};
Lora MakeLora(const TinyConfig& config, const Weights& weights, Lora lora);

// W + scale * B A for every adapted weight, rounded to f32.
Weights MergeLora(const Weights& weights, const Lora& lora);

// Writes `weights` as a .ptd (key = tensor name) and returns its fingerprint.
Result<std::string> WriteFoundation(const std::string& path, const Weights& weights);

// Writes a program over the foundation (and the adapter .ptd path when the
// LoRA lives in one).
Status WriteTinyProgram(const std::string& path, const TinyConfig& config, const Weights& weights,
                        const std::string& foundation_fingerprint, const Lora* lora = nullptr,
                        const std::string& adapter_path = "");

// The program spec alone (for tests that change it before writing). LoRA
// tensors go to `inline_segments` or to data file 1 (the adapter .ptd).
ProgramSpec BuildSpec(const TinyConfig& config, const Weights& weights,
                      const std::string& foundation_fingerprint, const Lora* lora = nullptr,
                      const std::string& adapter_fingerprint = "",
                      std::vector<std::vector<uint8_t>>* inline_segments = nullptr);

// Writes config.json and every tensor as <checkpoint name>.f32 into `dir`,
// the input of tests/reference_forward.py.
Status WriteReferenceWeights(const std::string& dir, const TinyConfig& config,
                             const Weights& weights);

}  // namespace lorashare::testing_tiny

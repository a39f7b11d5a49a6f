// Small random Llama/Qwen3 models and LoRA pairs built in memory, for tests of
// the GGUF writer that must not depend on the importers or make-test-model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/model_config.h"
#include "import/checkpoint.h"
#include "import/lora_adapter.h"

namespace lorashare::testing {

struct RandomModel {
  ModelConfig config;
  TokenizerFacts tokenizer;
  std::vector<TensorRef> tensors;
  std::vector<LoraPair> lora;  // on wq, wk, wv, w2 of every layer
  float lora_scale = 0;

  const TensorRef& Get(const std::string& name) const;
};

// f32 weights from a seeded generator. Output projection rows are scaled up so
// that next-token distributions are peaked and greedy decoding is stable
// across implementations. `llama3_rope_scaling` only applies to kLlama.
RandomModel MakeRandomModel(Architecture arch, uint32_t seed, bool llama3_rope_scaling = true);

// Writes config.json (HF keys) and one raw little-endian f32 file per tensor
// (<name>.f32, LoRA pairs as <target>.lora_a.f32 / .lora_b.f32) for the numpy
// reference in reference_forward.py.
void DumpForNumpy(const RandomModel& model, const std::string& dir);

// Writes the model as a Hugging Face directory (config.json,
// model.safetensors) and its LoRA pairs as a PEFT directory, for
// `lorashare export`.
void WriteHfCheckpoint(const RandomModel& model, const std::string& dir,
                       const std::string& adapter_dir);

std::vector<float> AsFloats(const TensorRef& tensor);

}  // namespace lorashare::testing

// make-test-model: writes a synthetic model (and optionally a LoRA adapter) in
// the real on-disk formats, so every importer, the exporter and the runtime
// can be exercised without downloading weights:
// - a Hugging Face directory: config.json, generation_config.json,
//   model.safetensors, and the tokenizer (tiktoken tokenizer.model for Llama
//   presets, tokenizer.json + tokenizer_config.json for Qwen3 presets);
// - a PEFT adapter directory: adapter_config.json, adapter_model.safetensors;
// - optionally the same model in Meta's layout (params.json,
//   consolidated.00.pth, tokenizer.model; the adapter as torchtune's
//   adapter_model.pt + adapter_config.json beside them), as the reference
//   demo's inputs are;
// - optionally the same model as llama.cpp GGUF files (the independent
//   reference the tests compare against).
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "format/dtype.h"
#include "testmodel/gguf_quant.h"

namespace lorashare {

struct TestModelOptions {
  std::string preset = "tiny";
  std::string adapter_preset = "demo";
  uint64_t seed = 1;
  DType dtype = DType::kF32;
  std::string out_dir;                  // Hugging Face directory; empty: none (needs a GGUF)
  std::string lora_out_dir;             // PEFT directory; empty: no adapter
  std::string meta_out_dir;             // Meta / torchtune layout; empty: none
  std::string gguf_path;                // llama.cpp GGUF of the base; empty: none
  GgmlType gguf_type = GgmlType::kF32;  // its matrices (gguf_writer.h)
  std::string lora_gguf_path;           // llama.cpp GGUF of the adapter; empty: none
};

struct TestModelReport {
  uint64_t parameters = 0;
  uint64_t weight_bytes = 0;
  uint64_t adapter_parameters = 0;
};

Result<TestModelReport> MakeTestModel(const TestModelOptions& options);

}  // namespace lorashare

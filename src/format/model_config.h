// ModelConfig: the architecture and hyper-parameters of a Llama-family model,
// as data. Importers fill it from config.json / params.json, the exporter
// stores it in the .pte, the runtime builds its buffers from it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace lorashare {

enum class Architecture : uint8_t {
  kLlama = 0,  // Llama 2/3.x (LlamaForCausalLM)
  kQwen3 = 1,  // Qwen3 (Qwen3ForCausalLM): per-head RMSNorm on q and k before RoPE
};

std::string_view ArchitectureName(Architecture arch);

// Llama 3.1+ "llama3" rope scaling (frequency-dependent wavelength scaling).
struct RopeScaling {
  bool enabled = false;
  float factor = 1.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int32_t original_max_position = 8192;
};

struct ModelConfig {
  Architecture arch = Architecture::kLlama;
  int32_t dim = 0;         // hidden size
  int32_t n_layers = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;  // < n_heads for grouped-query attention
  int32_t head_dim = 0;    // usually dim / n_heads; Qwen3 sets it explicitly
  int32_t hidden_dim = 0;  // feed-forward (intermediate) size
  int32_t vocab_size = 0;
  int32_t max_context = 0;  // max_position_embeddings
  float norm_eps = 1e-5f;
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling;
  bool tied_embeddings = false;  // output layer reuses the token embedding
  bool qk_norm = false;          // Qwen3

  // Checks that the numbers fit together (positive, divisible, ...). `source`
  // names the file they came from.
  Status Validate(std::string_view source) const;
};

// Token ids the generator needs. Recorded in the .pte at export.
struct TokenizerFacts {
  int32_t bos_id = -1;            // -1: no BOS
  std::vector<int32_t> eos_ids;   // generation stops on any of these
};

}  // namespace lorashare

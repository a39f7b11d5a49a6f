#include "testmodel/hf_config_json.h"

#include <string_view>

namespace lorashare {
namespace {

using Json = nlohmann::ordered_json;

Json EosJson(const TokenizerFacts& facts) {
  if (facts.eos_ids.size() == 1) return facts.eos_ids.front();
  return facts.eos_ids;
}

std::string_view TorchDTypeName(DType dtype) {
  switch (dtype) {
    case DType::kBF16:
      return "bfloat16";
    case DType::kF16:
      return "float16";
    default:
      return "float32";
  }
}

}  // namespace

Json HfConfigJson(const ModelConfig& c, const TokenizerFacts& facts, DType dtype) {
  const bool qwen = c.arch == Architecture::kQwen3;
  Json rope_scaling = nullptr;
  if (c.rope_scaling.enabled) {
    rope_scaling = {{"factor", c.rope_scaling.factor},
                    {"high_freq_factor", c.rope_scaling.high_freq_factor},
                    {"low_freq_factor", c.rope_scaling.low_freq_factor},
                    {"original_max_position_embeddings", c.rope_scaling.original_max_position},
                    {"rope_type", "llama3"}};
  }
  return {{"architectures", {qwen ? "Qwen3ForCausalLM" : "LlamaForCausalLM"}},
          {"model_type", qwen ? "qwen3" : "llama"},
          {"attention_bias", false},
          {"bos_token_id", facts.bos_id},
          {"eos_token_id", EosJson(facts)},
          {"head_dim", c.head_dim},
          {"hidden_act", "silu"},
          {"hidden_size", c.dim},
          {"intermediate_size", c.hidden_dim},
          {"max_position_embeddings", c.max_context},
          {"num_attention_heads", c.n_heads},
          {"num_hidden_layers", c.n_layers},
          {"num_key_value_heads", c.n_kv_heads},
          {"rms_norm_eps", c.norm_eps},
          {"rope_scaling", rope_scaling},
          {"rope_theta", c.rope_theta},
          {"tie_word_embeddings", c.tied_embeddings},
          {"torch_dtype", TorchDTypeName(dtype)},
          {"vocab_size", c.vocab_size}};
}

}  // namespace lorashare

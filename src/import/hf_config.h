// Hugging Face config.json (LlamaForCausalLM, Qwen3ForCausalLM) and
// generation_config.json -> ModelConfig and TokenizerFacts.
#pragma once

#include <optional>

#include "base/result.h"
#include "format/model_config.h"
#include "import/json_object.h"

namespace lorashare {

// Defaults follow transformers' LlamaConfig / Qwen3Config: num_key_value_heads
// = num_attention_heads, head_dim = hidden_size / num_attention_heads,
// rope_theta = 10000, tie_word_embeddings = false.
Result<ModelConfig> ParseHfConfig(const JsonObject& config);

// bos/eos from config.json, with generation_config.json's eos ids added (it
// is what transformers' generate() stops on).
Result<TokenizerFacts> ParseHfTokenizerFacts(const JsonObject& config,
                                             const std::optional<JsonObject>& generation_config);

}  // namespace lorashare

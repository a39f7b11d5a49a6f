// A model's config.json as Hugging Face's LlamaConfig / Qwen3Config write it
// (the keys import/hf_config.h reads back).
#pragma once

#include <nlohmann/json.hpp>

#include "format/dtype.h"
#include "format/model_config.h"

namespace lorashare {

// torch_dtype names `dtype` (f32, bf16 or f16); eos_token_id is a number for
// one end token, a list for several.
nlohmann::ordered_json HfConfigJson(const ModelConfig& config, const TokenizerFacts& facts,
                                    DType dtype);

}  // namespace lorashare

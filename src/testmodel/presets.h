// Presets for synthetic test models: real architectures (shapes, rope, special
// tokens) with generated weights, so the whole pipeline can be exercised and
// measured without downloading a model.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "format/model_config.h"

namespace lorashare {

enum class TokenizerFormat {
  kTiktoken,        // Llama 3 tokenizer.model (base64 + rank lines)
  kHfTokenizerJson  // Qwen-style ByteLevel BPE tokenizer.json
};

struct ModelPreset {
  std::string name;
  std::string description;
  ModelConfig config;
  TokenizerFormat tokenizer = TokenizerFormat::kTiktoken;
  int32_t base_vocab = 0;                   // ordinary (non-special) tokens
  std::vector<std::string> special_tokens;  // numbered from base_vocab on
  TokenizerFacts facts;                     // bos/eos as the real model's config
};

struct AdapterPreset {
  std::string name;
  std::string description;
  int32_t rank = 0;
  float alpha = 0;
  bool use_rslora = false;
  std::vector<std::string> targets;  // PEFT names: q_proj, v_proj, ...
};

Result<ModelPreset> FindModelPreset(std::string_view name);
Result<AdapterPreset> FindAdapterPreset(std::string_view name);
std::vector<std::string> ModelPresetNames();
std::vector<std::string> AdapterPresetNames();

}  // namespace lorashare

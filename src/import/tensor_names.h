// Translation of other tools' module names into canonical ones (checkpoint.h).
// Names here are module paths without the trailing ".weight" or LoRA suffix.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lorashare {

// Hugging Face transformers: "model.layers.3.self_attn.q_proj" ->
// "layers.3.attention.wq", "model.embed_tokens" -> "tok_embeddings",
// "lm_head" -> "output". nullopt for names outside the Llama/Qwen3 layout.
std::optional<std::string> CanonicalFromHfModule(std::string_view module);

// torchtune ("layers.3.attn.output_proj", "layers.3.mlp.w1") and Meta
// ("layers.3.attention.wo") names of layer projections -> canonical.
std::optional<std::string> CanonicalFromTorchtuneModule(std::string_view module);

// Splits "layers.<N>.<rest>" (after `prefix`) into N and rest; nullopt if it
// does not have that form.
struct LayerModule {
  int32_t layer = 0;
  std::string_view rest;
};
std::optional<LayerModule> SplitLayerModule(std::string_view module, std::string_view prefix);

}  // namespace lorashare

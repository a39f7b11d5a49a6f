// Other tools' names for canonical tensors (the inverse of what the importers
// map), used to write test checkpoints in the Hugging Face, PEFT and torchtune
// layouts.
#pragma once

#include <string>
#include <string_view>

#include "import/checkpoint_layout.h"

namespace lorashare {

// "layers.3.attention.wq.weight" -> "model.layers.3.self_attn.q_proj.weight",
// "tok_embeddings.weight" -> "model.embed_tokens.weight", ...
std::string HfTensorName(std::string_view canonical);

// PEFT target_modules name of a projection: "q_proj", "gate_proj", ...
std::string_view PeftTargetName(Projection projection);

// torchtune's module of a projection in a layer: "attn.q_proj",
// "attn.output_proj", "mlp.w1", ...
std::string_view TorchtuneModuleName(Projection projection);

}  // namespace lorashare

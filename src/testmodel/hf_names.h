// Hugging Face names for canonical tensors (the inverse of what the importer
// maps), used to write test checkpoints in the Hugging Face and PEFT layouts.
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

}  // namespace lorashare

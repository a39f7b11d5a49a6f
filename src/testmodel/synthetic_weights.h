// Deterministic synthetic weights for test models.
//
// Every tensor is drawn from its own stream, seeded by (seed, tensor name), so
// a tensor's values do not depend on which others exist. Scales are chosen so
// the next-token distribution is peaked (the logits' spread is several units),
// which keeps greedy decoding identical across correct implementations.
#pragma once

#include <cstdint>
#include <vector>

#include "format/dtype.h"
#include "format/model_config.h"
#include "import/checkpoint.h"
#include "import/lora_adapter.h"
#include "testmodel/presets.h"

namespace lorashare {

// The base model's tensors under canonical names (checkpoint.h), in `dtype`
// (norm weights too, as Hugging Face checkpoints store them).
std::vector<TensorRef> GenerateBaseWeights(const ModelConfig& config, uint64_t seed, DType dtype);

// A/B pairs (f32) for every layer and every target of `adapter`. B is not
// zero (unlike a freshly initialised adapter), so the adapter changes outputs.
std::vector<LoraPair> GenerateAdapterWeights(const ModelConfig& config,
                                             const AdapterPreset& adapter, uint64_t seed);

}  // namespace lorashare

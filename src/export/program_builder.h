// ProgramBuilder: turns an architecture (ModelConfig) into the instruction
// list of a .pte: the whole Llama/Qwen3 forward pass, one layer after another,
// with a LORA instruction after each adapted projection.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "format/program.h"

namespace lorashare {

// The A and B tensors of one adapted projection, as indices into
// ProgramSpec::tensors.
struct LoraBinding {
  int32_t a = -1;
  int32_t b = -1;
};

struct ProgramBuildInput {
  ModelConfig model;
  // Index into ProgramSpec::tensors of a canonical weight name
  // ("layers.0.attention.wq.weight"); fails if the tensor is missing.
  std::function<Result<int32_t>(const std::string& name)> tensor_index;
  // Adapted projections by canonical target ("layers.0.attention.wq").
  std::map<std::string, LoraBinding> lora;
  // The LORA instructions' scale (the exporter folds alpha / rank into B and
  // passes 1).
  float lora_scale = 0.0f;
  // Tied embeddings whose output layer is stored as its own "output.weight"
  // (a quantized embedding the classifier does not read, see
  // export/weight_format.h); otherwise a tied model's output layer reads
  // "tok_embeddings.weight".
  bool separate_output = false;
};

// Fills spec->values, input_value, output_value and instructions.
Status BuildInstructions(const ProgramBuildInput& input, ProgramSpec* spec);

}  // namespace lorashare

// CheckpointBuilder: how the format-specific importers (Hugging Face, Meta)
// hand their tensors over as a Checkpoint. Internal to src/import/.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "import/checkpoint.h"

namespace lorashare {

// A tensor under its canonical name, and where it came from ("<file>: <name
// in that file>") for error messages.
struct ImportedTensor {
  TensorRef tensor;
  std::string origin;
};

class CheckpointBuilder {
 public:
  // Checks `tensors` against what `config` implies: each expected tensor is
  // present once with its shape and a float dtype (f32/f16/bf16), and nothing
  // else is. An output.weight beside tied embeddings is dropped. Finds the
  // tokenizer file in `dir`.
  static Result<std::unique_ptr<Checkpoint>> Build(const std::string& dir,
                                                   const ModelConfig& config,
                                                   const TokenizerFacts& facts,
                                                   std::vector<ImportedTensor> tensors);
};

// Opens the two directory layouts (hf_checkpoint.cc, meta_checkpoint.cc).
Result<std::unique_ptr<Checkpoint>> OpenHfCheckpoint(const std::string& dir);
Result<std::unique_ptr<Checkpoint>> OpenMetaCheckpoint(const std::string& dir);

}  // namespace lorashare

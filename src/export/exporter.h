// Exporter: writes a checkpoint (and optionally one LoRA adapter) as a .pte
// program over a shared foundation .ptd.
//
// Foundation tensors are stored as the QuantizationScheme says (plain, or
// packed in the layout their kernel consumes, export/weight_format.h), keyed
// by their content ("<format>-<sha256 of the stored bytes>": "f32-...",
// "q4g32-...") and written in checkpoint order, so every export of the same
// base with the same options writes a byte-identical foundation file, with or
// without an adapter. Quantization streams, one tensor at a time, through a
// ScratchFile. Adapter tensors go inline into the .pte, or into their own .ptd
// when `adapter_weights` is set; the LoRA scale is folded into B (LORA
// instructions carry scale 1).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "export/weight_format.h"
#include "format/model_config.h"

namespace lorashare {

struct ExportOptions {
  std::string checkpoint_dir;
  std::string adapter_path;        // empty: a base program
  std::string output;              // the .pte to write
  std::string foundation_weights;  // the .ptd to write
  std::string adapter_weights;     // empty: adapter tensors inline in the .pte
  QuantizationScheme scheme;       // defaults: everything f32
  // Reads the bos/eos ids a tokenizer file defines (e.g. Llama 3's
  // <|eot_id|> as a stop token), called with the checkpoint's tokenizer file
  // when it has one. Its eos ids are added to the checkpoint's; its bos id is
  // used when the checkpoint names none (Meta params.json does not).
  std::function<Result<TokenizerFacts>(const std::string& tokenizer_path)> tokenizer_facts;
  bool show_progress = true;
};

struct ExportReport {
  uint64_t program_bytes = 0;
  uint64_t foundation_bytes = 0;
  uint64_t adapter_file_bytes = 0;    // 0 when the adapter is inline
  uint64_t adapter_tensor_bytes = 0;  // A and B bytes, wherever stored
  size_t foundation_tensors = 0;
  std::string foundation_fingerprint;
  std::string weights;  // QuantizationScheme::Describe() for this model
  // Foundation tensor bytes by stored format ("q4g32", "q8row", "f32"...).
  std::map<std::string, uint64_t> foundation_bytes_by_format;
};

Result<ExportReport> ExportProgram(const ExportOptions& options);

}  // namespace lorashare

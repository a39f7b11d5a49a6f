// PairedDecode: the decode speed of one program relative to another (an
// adapter's program against its base, or one program against itself with
// other options, such as its KV cache type), both loaded in this process and
// decoding in alternating blocks of tokens.
//
// On a shared host the memory bandwidth drifts from minute to minute (here
// between about 40 and 75 GB/s), so two separate runs compare two different
// machines. Blocks of a few tokens, alternating which program goes first,
// put both under the same bandwidth; each block pair gives one ratio.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "runtime/model.h"

namespace lorashare::tools {

struct PairedDecodeOptions {
  std::string model, baseline;  // programs (.pte)
  std::vector<std::string> model_data, baseline_data;
  ModelOptions options;           // the model's
  ModelOptions baseline_options;  // the baseline's
  std::span<const int32_t> prompt;
  int32_t gen = 64;  // tokens each program decodes per round
  int rounds = 1;    // each starts from a fresh prefill of the prompt
};

struct PairedDecodeResult {
  int32_t block_tokens = 0;
  std::vector<double> model_tok_s;     // per block
  std::vector<double> baseline_tok_s;  // per block
  std::vector<double> ratios;          // model / baseline, per block pair
};

Result<PairedDecodeResult> RunPairedDecode(const PairedDecodeOptions& options);

}  // namespace lorashare::tools

// What `lorashare bench` derives from a program alone: the weight bytes one
// decode step reads and the prompt it runs.
#pragma once

#include <cstdint>
#include <vector>

#include "format/program.h"

namespace lorashare::tools {

// Bytes of weights one decode step (one token) reads, as stored: the sum of
// every instruction's DecodeWeightBytes (format/program.h), so linear weights
// including the output layer, LoRA A and B and norm weights count once per
// instruction that uses them, an embedding table one row. A table tied to the
// output layer counts in full for the output layer and one row for the
// lookup. Decode is memory-bound, so this over the machine's bandwidth bounds
// tokens/s.
uint64_t DecodeWeightBytes(const ProgramSpec& spec);

// `count` token ids that stand in for a prompt: the program's BOS first when
// it has one, then ids spread over the whole vocabulary (a fixed stride, so
// every run reads the same embedding rows). No tokenizer is needed.
std::vector<int32_t> SyntheticPrompt(const ProgramSpec& spec, int32_t count);

}  // namespace lorashare::tools

#include "tools/bench_support.h"

namespace lorashare::tools {

uint64_t DecodeWeightBytes(const ProgramSpec& spec) {
  uint64_t bytes = 0;
  for (const InstructionSpec& instruction : spec.instructions) {
    bytes += lorashare::DecodeWeightBytes(spec, instruction);
  }
  return bytes;
}

std::vector<int32_t> SyntheticPrompt(const ProgramSpec& spec, int32_t count) {
  // A prime stride visits ids all over the table before repeating.
  constexpr int64_t kStride = 7919;
  const int64_t vocab = spec.model.vocab_size;
  std::vector<int32_t> tokens;
  tokens.reserve(static_cast<size_t>(count));
  const int32_t bos = spec.tokenizer.bos_id;
  if (count > 0 && bos >= 0 && bos < vocab) tokens.push_back(bos);
  for (int64_t i = 1; static_cast<int32_t>(tokens.size()) < count; ++i) {
    tokens.push_back(static_cast<int32_t>(i * kStride % vocab));
  }
  return tokens;
}

}  // namespace lorashare::tools

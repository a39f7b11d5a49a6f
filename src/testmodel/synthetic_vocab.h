// Synthetic BPE vocabularies for test models, written in the real tokenizer
// formats (Llama 3 tiktoken tokenizer.model, Hugging Face tokenizer.json).
//
// The first 256 tokens are the single bytes. Then come merges learned by
// byte-pair encoding over a small built-in English word list, then, to reach
// large vocabulary sizes, concatenations of existing tokens. Every token above
// 255 is the concatenation of two lower tokens, so it is a valid BPE merge.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "format/model_config.h"

namespace lorashare {

struct SyntheticVocab {
  std::vector<std::string> tokens;                  // bytes of each token; index = id
  std::vector<std::pair<int32_t, int32_t>> merges;  // parts of token 256 + i
};

// `size` >= 256 ordinary tokens.
SyntheticVocab BuildSyntheticVocab(int32_t size);

// Llama 3 format: one "base64(bytes) rank" line per ordinary token.
Status WriteTiktokenModel(const std::string& path, const SyntheticVocab& vocab);

// Qwen2/Qwen3-style byte-level BPE: tokenizer.json and tokenizer_config.json
// in `dir`. `special_tokens` are numbered after the ordinary tokens.
Status WriteHfTokenizer(const std::string& dir, const SyntheticVocab& vocab,
                        const std::vector<std::string>& special_tokens, const TokenizerFacts& facts,
                        int32_t max_context);

}  // namespace lorashare

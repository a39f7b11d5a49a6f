// SpmTokenizer: SentencePiece-style BPE by piece scores, as llama.cpp runs the
// `llama` vocabularies of GGUF files (Llama 2 and similar).
//
// Spaces become U+2581, a space is prefixed to each run of text at the start
// and after a special token, then adjacent symbols (UTF-8 characters at first)
// merge greedily: the pair whose joined text is the highest-scoring piece
// first, leftmost on ties. Characters left without a piece become <0xXX>
// byte tokens.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "llm/special_tokens.h"
#include "llm/tokenizer.h"

namespace lorashare {

class SpmTokenizer : public Tokenizer {
 public:
  struct Parts {
    std::unordered_map<std::string, int32_t> pieces;  // mergeable pieces (normal, user-defined)
    std::vector<float> scores;                        // by id
    std::vector<std::string> token_bytes;             // by id: what each contributes to text
    int32_t byte_ids[256];                            // <0xXX> tokens, -1 where absent
    std::optional<int32_t> unknown_id;
    SpecialTokens specials;
    bool add_space_prefix = true;
    std::optional<int32_t> bos_id;
    std::vector<int32_t> eos_ids;
  };
  explicit SpmTokenizer(Parts parts) : parts_(std::move(parts)) {}

  Result<std::vector<int32_t>> Encode(std::string_view text,
                                      bool parse_specials = true) const override;
  Result<std::string> Decode(std::span<const int32_t> ids) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(parts_.token_bytes.size()); }
  std::optional<int32_t> bos_id() const override { return parts_.bos_id; }
  std::vector<int32_t> eos_ids() const override { return parts_.eos_ids; }
  std::optional<int32_t> SpecialTokenId(std::string_view text) const override {
    return parts_.specials.Find(text);
  }
  Result<std::string> TokenBytes(int32_t id) const override;

 private:
  void EncodeRun(const std::string& text, std::vector<int32_t>& out) const;
  std::optional<int32_t> FindPiece(std::string_view text) const;

  Parts parts_;
};

}  // namespace lorashare

// SpecialTokens: finds added/special tokens written in text, so that
// "<|eot_id|>" becomes one id instead of being split into pieces by BPE.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lorashare {

// Llama 3.1+'s 256 special tokens (its tokenizer.json), in id order after the
// base vocabulary of a tiktoken tokenizer.model.
std::vector<std::string> Llama3SpecialTokens();

class SpecialTokens {
 public:
  // `always`: matched even when the caller asks for specials as plain text
  // (Hugging Face's non-special added tokens, GGUF user-defined tokens).
  void Add(std::string text, int32_t id, bool always = false);

  std::optional<int32_t> Find(std::string_view text) const;
  // Adds to `ids` (without repeating any) the tokens that end a turn or a
  // text in the known chat formats (<|eot_id|>, <|im_end|>, ...), as llama.cpp
  // and the models' generation configs do.
  void AddEndOfTurnIds(std::vector<int32_t>& ids) const;
  const std::unordered_map<std::string, int32_t>& all() const { return ids_; }

  // Cuts `text` into runs of ordinary text (id < 0) and tokens (the longest
  // one wins where several start at the same place).
  struct Segment {
    std::string_view text;
    int32_t id;
  };
  void Split(std::string_view text, bool parse_specials, std::vector<Segment>& out) const;

 private:
  struct Entry {
    std::string text;
    int32_t id;
    bool always;
  };
  std::unordered_map<std::string, int32_t> ids_;
  std::vector<Entry> by_first_byte_[256];  // longest first
};

}  // namespace lorashare

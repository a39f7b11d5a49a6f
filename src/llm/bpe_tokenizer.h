// BpeTokenizer: the Tokenizer of every BPE format (tiktoken, Hugging Face
// tokenizer.json, GGUF gpt2 vocabularies). Loaders describe the pipeline as
// data in BpeTokenizer::Parts:
//   special-token split -> rewrites (normalizers) -> regex splits -> BPE
// and the decoding of each id as the bytes it contributes.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llm/bpe.h"
#include "llm/regex_splitter.h"
#include "llm/special_tokens.h"
#include "llm/tokenizer.h"

namespace lorashare {

// A rewrite of each run of ordinary text before it is split (Hugging Face
// normalizers and the text-changing parts of pre-tokenizers).
struct TextRewrite {
  enum class Kind {
    kNfc,              // Unicode canonical composition
    kPrepend,          // `text` before non-empty input
    kPrependIfAbsent,  // `text` unless the input already starts with it
    kReplace,          // every `text` becomes `with`
  };
  Kind kind;
  std::string text;
  std::string with;
  bool first_only = false;  // only for the run at the start of the input

  Status Apply(std::string& input, bool at_start) const;
};

class BpeTokenizer : public Tokenizer {
 public:
  struct Parts {
    explicit Parts(BpeModel model) : model(std::move(model)) {}
    BpeModel model;
    std::vector<TextRewrite> rewrites;
    std::vector<RegexSplitter> splitters;  // applied one after the other
    SpecialTokens specials;
    std::vector<std::optional<std::string>> token_bytes;  // by id; nullopt: no such token
    size_t strip_leading_spaces = 0;  // decoders that drop the added prefix space
    std::optional<int32_t> bos_id;
    std::vector<int32_t> eos_ids;
  };
  explicit BpeTokenizer(Parts parts) : parts_(std::move(parts)) {}

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
  Status EncodeOrdinary(std::string_view text, bool at_start, std::vector<int32_t>& out) const;

  Parts parts_;
};

}  // namespace lorashare

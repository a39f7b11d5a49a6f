// Tokenizer: text <-> token ids, loaded from whichever file came with a model.
//
// Load() recognises the format from the file's content: a Llama 3 tiktoken
// `tokenizer.model`, a Hugging Face `tokenizer.json` (or a directory holding
// one, with `tokenizer_config.json` for bos/eos), a SentencePiece `.model`, or
// the vocabulary embedded in a GGUF file. Token ids must equal those of the
// tokenizer the model was trained with, so every format follows its reference
// implementation exactly (tests compare token for token).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "format/model_config.h"

namespace lorashare {

class Tokenizer {
 public:
  // Detects the format from the content: tiktoken, tokenizer.json, SentencePiece, GGUF.
  static Result<std::unique_ptr<Tokenizer>> Load(const std::string& path);
  virtual ~Tokenizer();

  // Text must be valid UTF-8. With parse_specials, special tokens written in
  // the text (`<|eot_id|>`) become their ids; without, they are plain text.
  virtual Result<std::vector<int32_t>> Encode(std::string_view text,
                                              bool parse_specials = true) const = 0;
  // The whole text of `ids` (which must be < vocab_size()).
  virtual Result<std::string> Decode(std::span<const int32_t> ids) const = 0;
  virtual int32_t vocab_size() const = 0;
  // The token a prompt starts with, when the model wants one.
  virtual std::optional<int32_t> bos_id() const = 0;
  // Tokens that end generation, e.g. <|end_of_text|> and <|eot_id|>, <|im_end|>.
  virtual std::vector<int32_t> eos_ids() const = 0;
  virtual std::optional<int32_t> SpecialTokenId(std::string_view text) const = 0;
  // Bytes a single token contributes to decoded text (for streaming); may be
  // part of a UTF-8 character.
  virtual Result<std::string> TokenBytes(int32_t id) const = 0;
};

// The ids the exporter records in the .pte.
TokenizerFacts FactsOf(const Tokenizer& tokenizer);

// Decodes token by token, holding back a UTF-8 character split across tokens
// until its last byte arrives. Bytes that can never form a character pass
// through as they are.
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
  // The text that `id` completes (possibly empty).
  Result<std::string> Push(int32_t id);
  // Whatever is still held back (an unfinished character at the end).
  std::string Flush();

 private:
  const Tokenizer& tokenizer_;
  std::string pending_;
};

}  // namespace lorashare

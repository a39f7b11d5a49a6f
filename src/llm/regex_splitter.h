// RegexSplitter: the regex pre-tokenizer of byte-level BPE tokenizers.
//
// Text is cut into pieces at the matches of a pattern (tiktoken's pat_str, a
// Hugging Face Split pre-tokenizer). BPE then runs on each piece alone. The
// patterns use lookahead (`\s+(?!\S)`) and Unicode classes, so they run on
// PCRE2 in UTF + UCP mode, JIT-compiled.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace lorashare {

// Llama 3 (tiktoken tokenizer.model and its tokenizer.json).
inline constexpr std::string_view kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen2 / Qwen3: as Llama 3, but every digit is its own piece.
inline constexpr std::string_view kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// GPT-2 (the ByteLevel pre-tokenizer's own pattern when use_regex is set).
inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class RegexSplitter {
 public:
  // What happens to the text between matches and to the matches themselves
  // (Hugging Face's SplitDelimiterBehavior, the cases BPE models use).
  enum class Behavior {
    kIsolated,  // matches and gaps both become pieces
    kRemoved,   // only the gaps become pieces
  };

  // `source` names the file the pattern came from, for error messages.
  static Result<RegexSplitter> Create(std::string_view pattern, std::string_view source,
                                      Behavior behavior = Behavior::kIsolated, bool invert = false);

  // Appends the pieces of valid UTF-8 `text` to `pieces`, in order.
  Status Split(std::string_view text, std::vector<std::string_view>& pieces) const;

 private:
  struct Compiled;
  RegexSplitter(std::shared_ptr<const Compiled> compiled, Behavior behavior, bool invert)
      : compiled_(std::move(compiled)), behavior_(behavior), invert_(invert) {}

  std::shared_ptr<const Compiled> compiled_;
  Behavior behavior_;
  bool invert_;  // the pattern matches the pieces' complement
};

}  // namespace lorashare

// Llama 3 tiktoken vocabulary, as read by meta-pytorch/tokenizers (tiktoken.cpp).
#include <algorithm>
#include <charconv>

#include "llm/base64.h"
#include "llm/bpe_tokenizer.h"
#include "llm/special_tokens.h"
#include "llm/tokenizer_formats.h"

namespace lorashare {
namespace {

constexpr int kNumSpecialTokens = 256;

struct Line {
  std::string_view base64;
  std::string_view rank;
};

std::optional<Line> SplitLine(std::string_view line) {
  size_t space = line.find(' ');
  if (space == std::string_view::npos || space == 0) return std::nullopt;
  return Line{line.substr(0, space), line.substr(space + 1)};
}

std::optional<int32_t> ParseRank(std::string_view text) {
  int32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace

std::vector<std::string> Llama3SpecialTokens() {
  std::vector<std::string> names = {"<|begin_of_text|>",
                                    "<|end_of_text|>",
                                    "<|reserved_special_token_0|>",
                                    "<|reserved_special_token_1|>",
                                    "<|finetune_right_pad_id|>",
                                    "<|reserved_special_token_2|>",
                                    "<|start_header_id|>",
                                    "<|end_header_id|>",
                                    "<|eom_id|>",
                                    "<|eot_id|>",
                                    "<|python_tag|>"};
  for (int i = 3; names.size() < kNumSpecialTokens; ++i) {
    names.push_back(fmt::format("<|reserved_special_token_{}|>", i));
  }
  return names;
}

bool LooksLikeTiktoken(std::string_view bytes) {
  std::string_view first = bytes.substr(0, bytes.find('\n'));
  if (first.ends_with('\r')) first.remove_suffix(1);
  auto line = SplitLine(first);
  return line && DecodeBase64(line->base64) && ParseRank(line->rank);
}

Result<std::unique_ptr<Tokenizer>> LoadTiktoken(const MappedFile& file) {
  const std::string& path = file.path();
  std::string_view text(reinterpret_cast<const char*>(file.bytes().data()), file.size());
  BpeModel model(BpeModel::Symbols::kBytes, /*ignore_merges=*/true);
  std::vector<std::optional<std::string>> token_bytes;
  // Ranks are dense, so none can reach the number of lines.
  const size_t max_ranks = std::count(text.begin(), text.end(), '\n') + 1;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    size_t end = text.find('\n');
    std::string_view raw = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (raw.ends_with('\r')) raw.remove_suffix(1);
    if (raw.empty()) continue;
    std::string where = fmt::format("{}: line {}", path, line_number);
    auto line = SplitLine(raw);
    if (!line) return MakeError(ErrorCode::kCorrupt, "{}: expected `base64 rank`", where);
    auto bytes = DecodeBase64(line->base64);
    if (!bytes || bytes->empty()) {
      return MakeError(ErrorCode::kCorrupt, "{}: invalid base64 token '{}'", where,
                       line->base64.substr(0, 64));
    }
    auto rank = ParseRank(line->rank);
    if (!rank) {
      return MakeError(ErrorCode::kCorrupt, "{}: invalid rank '{}'", where,
                       line->rank.substr(0, 32));
    }
    if (static_cast<size_t>(*rank) >= max_ranks) {
      return MakeError(ErrorCode::kCorrupt, "{}: rank {} is beyond the {} lines of the file", where,
                       *rank, max_ranks);
    }
    if (static_cast<size_t>(*rank) >= token_bytes.size()) token_bytes.resize(*rank + 1);
    if (token_bytes[*rank]) {
      return MakeError(ErrorCode::kCorrupt, "{}: duplicate rank {}", where, *rank);
    }
    token_bytes[*rank] = *bytes;
    LS_RETURN_IF_ERROR(model.AddToken(*rank, std::move(*bytes), where));
  }
  if (token_bytes.empty()) return MakeError(ErrorCode::kCorrupt, "{}: no tokens", path);
  for (size_t rank = 0; rank < token_bytes.size(); ++rank) {
    if (!token_bytes[rank]) {
      return MakeError(ErrorCode::kCorrupt, "{}: rank {} is missing (ranks go up to {})", path,
                       rank, token_bytes.size() - 1);
    }
  }
  model.BuildMergesFromRanks();
  LS_RETURN_IF_ERROR(model.Finish(path));

  const int32_t base = static_cast<int32_t>(token_bytes.size());
  BpeTokenizer::Parts parts(std::move(model));
  LS_ASSIGN_OR_RETURN(auto splitter, RegexSplitter::Create(kLlama3Pattern, path));
  parts.splitters.push_back(std::move(splitter));
  std::vector<std::string> specials = Llama3SpecialTokens();
  for (int i = 0; i < kNumSpecialTokens; ++i) {
    parts.specials.Add(specials[i], base + i);
    token_bytes.push_back(specials[i]);
  }
  parts.token_bytes = std::move(token_bytes);
  parts.bos_id = base;                             // <|begin_of_text|>
  parts.eos_ids = {base + 9, base + 1, base + 8};  // <|eot_id|>, <|end_of_text|>, <|eom_id|>
  return std::unique_ptr<Tokenizer>(new BpeTokenizer(std::move(parts)));
}

}  // namespace lorashare

#include "llm/bpe_tokenizer.h"

#include "llm/token_text.h"
#include "llm/unicode_normalize.h"
#include "llm/utf8.h"

namespace lorashare {

Status TextRewrite::Apply(std::string& input, bool at_start) const {
  if (first_only && !at_start) return OkStatus();
  switch (kind) {
    case Kind::kNfc: {
      LS_ASSIGN_OR_RETURN(input, NormalizeNfc(input));
      break;
    }
    case Kind::kPrepend:
      if (!input.empty()) input.insert(0, text);
      break;
    case Kind::kPrependIfAbsent:
      if (!input.starts_with(text)) input.insert(0, text);
      break;
    case Kind::kReplace: {
      if (text.empty()) break;
      std::string out;
      size_t pos = 0;
      for (size_t hit; (hit = input.find(text, pos)) != std::string::npos;
           pos = hit + text.size()) {
        out.append(input, pos, hit - pos);
        out += with;
      }
      out.append(input, pos);
      input = std::move(out);
      break;
    }
  }
  return OkStatus();
}

Status BpeTokenizer::EncodeOrdinary(std::string_view text, bool at_start,
                                    std::vector<int32_t>& out) const {
  std::string rewritten;
  if (!parts_.rewrites.empty()) {
    rewritten = text;
    for (const TextRewrite& rewrite : parts_.rewrites) {
      LS_RETURN_IF_ERROR(rewrite.Apply(rewritten, at_start));
    }
    text = rewritten;
  }
  thread_local std::vector<std::string_view> pieces, next;
  pieces.assign(1, text);
  for (const RegexSplitter& splitter : parts_.splitters) {
    next.clear();
    for (std::string_view piece : pieces) LS_RETURN_IF_ERROR(splitter.Split(piece, next));
    pieces.swap(next);
  }
  for (std::string_view piece : pieces) parts_.model.Encode(piece, out);
  return OkStatus();
}

Result<std::vector<int32_t>> BpeTokenizer::Encode(std::string_view text,
                                                  bool parse_specials) const {
  if (size_t bad = FindInvalidUtf8(text); bad != text.size()) {
    return MakeError(ErrorCode::kInvalidArgument, "text to encode is not valid UTF-8 at byte {}",
                     bad);
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  std::vector<SpecialTokens::Segment> segments;
  parts_.specials.Split(text, parse_specials, segments);
  bool at_start = true;
  for (const auto& segment : segments) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
    } else {
      LS_RETURN_IF_ERROR(EncodeOrdinary(segment.text, at_start, ids));
    }
    at_start = false;
  }
  return ids;
}

Result<std::string> BpeTokenizer::TokenBytes(int32_t id) const {
  if (id < 0 || id >= vocab_size() || !parts_.token_bytes[id]) {
    return MakeError(ErrorCode::kOutOfRange, "token id {} is not in the vocabulary (size {})", id,
                     vocab_size());
  }
  return *parts_.token_bytes[id];
}

Result<std::string> BpeTokenizer::Decode(std::span<const int32_t> ids) const {
  std::string text;
  for (int32_t id : ids) {
    LS_ASSIGN_OR_RETURN(std::string bytes, TokenBytes(id));
    text += bytes;
  }
  size_t strip = 0;
  while (strip < parts_.strip_leading_spaces && strip < text.size() && text[strip] == ' ') ++strip;
  text.erase(0, strip);
  return text;
}

}  // namespace lorashare

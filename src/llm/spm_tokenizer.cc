#include "llm/spm_tokenizer.h"

#include <queue>

#include "llm/token_text.h"
#include "llm/utf8.h"

namespace lorashare {
std::optional<int32_t> SpmTokenizer::FindPiece(std::string_view text) const {
  auto it = parts_.pieces.find(std::string(text));
  if (it == parts_.pieces.end()) return std::nullopt;
  return it->second;
}

void SpmTokenizer::EncodeRun(const std::string& text, std::vector<int32_t>& out) const {
  struct Symbol {
    size_t start;
    size_t length;  // 0 once merged into its left neighbour
    int prev;
    int next;
  };
  std::vector<Symbol> symbols;
  for (size_t pos = 0; pos < text.size();) {
    size_t length =
        std::min(Utf8SequenceLength(static_cast<unsigned char>(text[pos])), text.size() - pos);
    int index = static_cast<int>(symbols.size());
    symbols.push_back({pos, length, index - 1, pos + length < text.size() ? index + 1 : -1});
    pos += length;
  }
  struct Bigram {
    float score;
    int left;
    int right;
    size_t length;
    bool operator<(const Bigram& o) const {
      return score != o.score ? score < o.score : left > o.left;
    }
  };
  std::priority_queue<Bigram> queue;
  auto consider = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    size_t length = symbols[left].length + symbols[right].length;
    if (auto id = FindPiece(std::string_view(text).substr(symbols[left].start, length))) {
      queue.push({parts_.scores[*id], left, right, length});
    }
  };
  for (size_t i = 1; i < symbols.size(); ++i) consider(static_cast<int>(i) - 1, i);
  while (!queue.empty()) {
    Bigram top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.left];
    Symbol& right = symbols[top.right];
    if (left.length == 0 || right.length == 0 || left.length + right.length != top.length) continue;
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    consider(left.prev, top.left);
    consider(top.left, left.next);
  }
  for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) {
    std::string_view piece = std::string_view(text).substr(symbols[i].start, symbols[i].length);
    if (auto id = FindPiece(piece)) {
      out.push_back(*id);
      continue;
    }
    for (unsigned char byte : piece) {
      if (parts_.byte_ids[byte] >= 0) {
        out.push_back(parts_.byte_ids[byte]);
      } else if (parts_.unknown_id) {
        out.push_back(*parts_.unknown_id);
      }
    }
  }
}

Result<std::vector<int32_t>> SpmTokenizer::Encode(std::string_view text,
                                                  bool parse_specials) const {
  if (size_t bad = FindInvalidUtf8(text); bad != text.size()) {
    return MakeError(ErrorCode::kInvalidArgument, "text to encode is not valid UTF-8 at byte {}",
                     bad);
  }
  std::vector<SpecialTokens::Segment> segments;
  parts_.specials.Split(text, parse_specials, segments);
  std::vector<int32_t> ids;
  bool after_special = true;  // the start of the text counts as one
  for (const auto& segment : segments) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
      after_special = true;
      continue;
    }
    std::string escaped;
    if (parts_.add_space_prefix && after_special) escaped += kSpacePiece;
    for (char c : segment.text) {
      if (c == ' ') {
        escaped += kSpacePiece;
      } else {
        escaped += c;
      }
    }
    EncodeRun(escaped, ids);
    after_special = false;
  }
  return ids;
}

Result<std::string> SpmTokenizer::TokenBytes(int32_t id) const {
  if (id < 0 || id >= vocab_size()) {
    return MakeError(ErrorCode::kOutOfRange, "token id {} is not in the vocabulary (size {})", id,
                     vocab_size());
  }
  return parts_.token_bytes[id];
}

Result<std::string> SpmTokenizer::Decode(std::span<const int32_t> ids) const {
  std::string text;
  for (int32_t id : ids) {
    LS_ASSIGN_OR_RETURN(std::string bytes, TokenBytes(id));
    text += bytes;
  }
  // The prefix space added at encoding is not part of the text.
  if (parts_.add_space_prefix && text.starts_with(' ')) text.erase(0, 1);
  return text;
}

}  // namespace lorashare

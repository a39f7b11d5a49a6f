#include "llm/special_tokens.h"

#include <algorithm>

namespace lorashare {

void SpecialTokens::Add(std::string text, int32_t id, bool always) {
  if (text.empty()) return;
  ids_[text] = id;
  auto& bucket = by_first_byte_[static_cast<unsigned char>(text[0])];
  bucket.push_back({std::move(text), id, always});
  std::stable_sort(bucket.begin(), bucket.end(),
                   [](const Entry& a, const Entry& b) { return a.text.size() > b.text.size(); });
}

std::optional<int32_t> SpecialTokens::Find(std::string_view text) const {
  auto it = ids_.find(std::string(text));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

void SpecialTokens::AddEndOfTurnIds(std::vector<int32_t>& ids) const {
  for (std::string_view text : {"<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|im_end|>",
                                "<|endoftext|>", "<|end|>", "<end_of_turn>", "</s>"}) {
    auto id = Find(text);
    if (id && std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
  }
}

void SpecialTokens::Split(std::string_view text, bool parse_specials,
                          std::vector<Segment>& out) const {
  size_t plain_start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const Entry* found = nullptr;
    for (const Entry& entry : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
      if ((parse_specials || entry.always) && text.substr(pos).starts_with(entry.text)) {
        found = &entry;
        break;
      }
    }
    if (found == nullptr) {
      ++pos;
      continue;
    }
    if (pos > plain_start) out.push_back({text.substr(plain_start, pos - plain_start), -1});
    out.push_back({text.substr(pos, found->text.size()), found->id});
    pos += found->text.size();
    plain_start = pos;
  }
  if (plain_start < text.size()) out.push_back({text.substr(plain_start), -1});
}

}  // namespace lorashare

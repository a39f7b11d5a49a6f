#include "llm/bpe.h"

#include <algorithm>

#include "llm/utf8.h"

namespace lorashare {

Status BpeModel::AddToken(int32_t id, std::string bytes, std::string_view source) {
  if (id < 0) return MakeError(ErrorCode::kCorrupt, "{}: negative token id {}", source, id);
  if (bytes.empty()) return MakeError(ErrorCode::kCorrupt, "{}: token {} is empty", source, id);
  auto [it, inserted] = ids_.emplace(std::move(bytes), id);
  if (!inserted) {
    return MakeError(ErrorCode::kCorrupt, "{}: token {} repeats the bytes of token {}", source, id,
                     it->second);
  }
  max_id_ = std::max(max_id_, id);
  return OkStatus();
}

Status BpeModel::AddMerge(std::string_view left, std::string_view right, std::string_view where) {
  auto left_id = Find(left), right_id = Find(right);
  std::string joined = std::string(left) + std::string(right);
  auto merged = Find(joined);
  if (!left_id || !right_id || !merged) {
    return MakeError(ErrorCode::kCorrupt, "{}: merge of tokens not in the vocabulary", where);
  }
  // A repeated pair keeps its first (lowest) rank, as Hugging Face does.
  merges_.emplace(PairKey(*left_id, *right_id),
                  Merge{static_cast<int32_t>(merges_.size()), *merged});
  return OkStatus();
}

void BpeModel::BuildMergesFromRanks() {
  for (const auto& [bytes, id] : ids_) {
    for (size_t split = 1; split < bytes.size(); ++split) {
      auto left = Find(std::string_view(bytes).substr(0, split));
      auto right = Find(std::string_view(bytes).substr(split));
      if (left && right) merges_.emplace(PairKey(*left, *right), Merge{id, id});
    }
  }
}

Status BpeModel::Finish(std::string_view source) {
  for (int byte = 0; byte < 256; ++byte) {
    char c = static_cast<char>(byte);
    auto single = Find(std::string_view(&c, 1));
    byte_ids_[byte] = single ? *single : -1;
    auto fallback = Find(fmt::format("<0x{:02X}>", byte));
    byte_fallback_ids_[byte] = fallback ? *fallback : -1;
    if (symbols_ == Symbols::kBytes && !single) {
      return MakeError(ErrorCode::kCorrupt,
                       "{}: byte-level vocabulary has no token for byte 0x{:02X}", source, byte);
    }
  }
  return OkStatus();
}

std::optional<int32_t> BpeModel::Find(std::string_view bytes) const {
  auto it = ids_.find(bytes);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

const BpeModel::Merge* BpeModel::FindMerge(int32_t left, int32_t right) const {
  auto it = merges_.find(PairKey(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

void BpeModel::InitialSymbols(std::string_view piece, std::vector<int32_t>& ids) const {
  if (symbols_ == Symbols::kBytes) {
    for (unsigned char byte : piece) ids.push_back(byte_ids_[byte]);
    return;
  }
  size_t pos = 0;
  while (pos < piece.size()) {
    size_t length =
        std::min(Utf8SequenceLength(static_cast<unsigned char>(piece[pos])), piece.size() - pos);
    std::string_view character = piece.substr(pos, length);
    pos += length;
    if (auto id = Find(character)) {
      ids.push_back(*id);
      continue;
    }
    bool all_bytes = std::all_of(character.begin(), character.end(), [&](char c) {
      return byte_fallback_ids_[static_cast<unsigned char>(c)] >= 0;
    });
    if (all_bytes) {
      for (unsigned char c : character) ids.push_back(byte_fallback_ids_[c]);
    } else if (unknown_id_) {
      ids.push_back(*unknown_id_);
    }
  }
}

void BpeModel::Encode(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    if (auto whole = Find(piece)) {
      out.push_back(*whole);
      return;
    }
  }
  // Symbols form a doubly linked list; candidate merges wait in a min-heap
  // ordered by (rank, position) and are dropped when either side has changed.
  thread_local std::vector<int32_t> ids, prev, next;
  ids.clear();
  InitialSymbols(piece, ids);
  const int n = static_cast<int>(ids.size());
  if (n <= 1) {
    out.insert(out.end(), ids.begin(), ids.end());
    return;
  }
  prev.resize(n);
  next.resize(n);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    int32_t rank;
    int32_t left;
    int32_t left_id;
    int32_t right_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  // A binary heap kept in a reused buffer (std::priority_queue cannot reuse one).
  thread_local std::vector<Candidate> heap;
  heap.clear();
  auto consider = [&](int left) {
    if (left < 0 || next[left] < 0) return;
    if (const Merge* merge = FindMerge(ids[left], ids[next[left]])) {
      heap.push_back({merge->rank, left, ids[left], ids[next[left]]});
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    }
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    Candidate top = heap.back();
    heap.pop_back();
    int right = next[top.left];
    if (ids[top.left] != top.left_id || right < 0 || ids[right] != top.right_id) continue;
    ids[top.left] = FindMerge(top.left_id, top.right_id)->merged;
    ids[right] = -1;
    next[top.left] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.left;
    consider(prev[top.left]);
    consider(top.left);
  }
  for (int i = 0; i >= 0; i = next[i]) out.push_back(ids[i]);
}

}  // namespace lorashare

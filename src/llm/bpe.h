// BpeModel: byte-pair encoding of one pre-tokenized piece.
//
// Every format reduces to this: tokens are byte strings (Hugging Face's
// GPT-2 byte-to-unicode strings are mapped back to raw bytes at load), and a
// merge table says which adjacent pair of tokens joins first (lowest rank).
// tiktoken has no merge list; its rank of a pair is the rank of the joined
// token, and BuildMergesFromRanks derives the equivalent table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"

namespace lorashare {

class BpeModel {
 public:
  // How a piece is cut into the symbols that merging starts from.
  enum class Symbols {
    kBytes,  // one symbol per byte (byte-level BPE: all 256 bytes are tokens)
    kChars,  // one per UTF-8 character; unknown ones fall back to <0xXX> tokens
  };

  BpeModel(Symbols symbols, bool ignore_merges)
      : symbols_(symbols), ignore_merges_(ignore_merges) {}

  // Adds a token; `bytes` must be new and `id` >= 0. Ids need not be dense.
  Status AddToken(int32_t id, std::string bytes, std::string_view source);
  // Adds the merge `left right` -> their concatenation, ranked by call order.
  // `where` locates it in the file for error messages.
  Status AddMerge(std::string_view left, std::string_view right, std::string_view where);
  // tiktoken: a pair merges when the joined bytes are a token; its rank is that token's.
  void BuildMergesFromRanks();
  // Checks what encoding relies on (every byte has a token for kBytes). Call after loading.
  Status Finish(std::string_view source);
  void set_unknown_id(std::optional<int32_t> id) { unknown_id_ = id; }

  // Appends the ids of one piece (valid UTF-8 for kChars).
  void Encode(std::string_view piece, std::vector<int32_t>& out) const;

  std::optional<int32_t> Find(std::string_view bytes) const;
  int32_t max_id() const { return max_id_; }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  static uint64_t PairKey(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  const Merge* FindMerge(int32_t left, int32_t right) const;
  void InitialSymbols(std::string_view piece, std::vector<int32_t>& ids) const;

  Symbols symbols_;
  bool ignore_merges_;
  std::optional<int32_t> unknown_id_;
  int32_t max_id_ = -1;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> ids_;
  std::unordered_map<uint64_t, Merge> merges_;
  int32_t byte_ids_[256] = {};           // kBytes: the token of each single byte
  int32_t byte_fallback_ids_[256] = {};  // kChars: the <0xXX> tokens, -1 where absent
};

}  // namespace lorashare

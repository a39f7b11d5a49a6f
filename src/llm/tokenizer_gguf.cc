// Vocabularies embedded in GGUF metadata (tokenizer.ggml.*), read the way
// llama.cpp reads them (src/llama-vocab.cpp).
#include <algorithm>
#include <cstring>

#include "import/gguf.h"
#include "llm/bpe_tokenizer.h"
#include "llm/byte_level.h"
#include "llm/spm_tokenizer.h"
#include "llm/token_text.h"
#include "llm/tokenizer_formats.h"

namespace lorashare {
namespace {

// tokenizer.ggml.token_type values.
enum TokenType : int64_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct Vocabulary {
  std::vector<std::string_view> tokens;
  std::vector<int64_t> types;  // kNormal where the file has none
  std::optional<int32_t> bos_id;
  std::vector<int32_t> eos_ids;
};

Result<std::optional<int32_t>> OptionalId(const GgufFile& gguf, std::string_view key,
                                          size_t vocab_size) {
  if (gguf.Find(key) == nullptr) return std::optional<int32_t>();
  LS_ASSIGN_OR_RETURN(int64_t id, gguf.GetInt(key));
  // llama.cpp writes -1 (as u32 0xFFFFFFFF) for "none".
  if (id == -1 || id == 0xFFFFFFFF) return std::optional<int32_t>();
  if (id < 0 || static_cast<size_t>(id) >= vocab_size) {
    return MakeError(ErrorCode::kCorrupt, "{}: {} = {} is outside the vocabulary of {} tokens",
                     gguf.source(), key, id, vocab_size);
  }
  return std::optional<int32_t>(static_cast<int32_t>(id));
}

Result<bool> OptionalBool(const GgufFile& gguf, std::string_view key, bool fallback) {
  if (gguf.Find(key) == nullptr) return fallback;
  return gguf.GetBool(key);
}

Result<Vocabulary> ReadVocabulary(const GgufFile& gguf, bool default_add_bos) {
  Vocabulary vocab;
  LS_ASSIGN_OR_RETURN(vocab.tokens, gguf.GetStringArray("tokenizer.ggml.tokens"));
  if (vocab.tokens.empty() || vocab.tokens.size() > INT32_MAX) {
    return MakeError(ErrorCode::kCorrupt, "{}: tokenizer.ggml.tokens has {} tokens", gguf.source(),
                     vocab.tokens.size());
  }
  if (gguf.Find("tokenizer.ggml.token_type") != nullptr) {
    LS_ASSIGN_OR_RETURN(vocab.types, gguf.GetIntArray("tokenizer.ggml.token_type"));
    if (vocab.types.size() != vocab.tokens.size()) {
      return MakeError(ErrorCode::kCorrupt,
                       "{}: tokenizer.ggml.token_type has {} entries for {} tokens", gguf.source(),
                       vocab.types.size(), vocab.tokens.size());
    }
  } else {
    vocab.types.assign(vocab.tokens.size(), kNormal);
  }
  size_t n = vocab.tokens.size();
  LS_ASSIGN_OR_RETURN(auto bos, OptionalId(gguf, "tokenizer.ggml.bos_token_id", n));
  LS_ASSIGN_OR_RETURN(bool add_bos,
                      OptionalBool(gguf, "tokenizer.ggml.add_bos_token", default_add_bos));
  if (add_bos) vocab.bos_id = bos;
  for (std::string_view key : {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eos_token_id",
                               "tokenizer.ggml.eom_token_id"}) {
    LS_ASSIGN_OR_RETURN(auto id, OptionalId(gguf, key, n));
    if (id && std::find(vocab.eos_ids.begin(), vocab.eos_ids.end(), *id) == vocab.eos_ids.end()) {
      vocab.eos_ids.push_back(*id);
    }
  }
  return vocab;
}

bool IsSpecial(int64_t type) {
  return type == kControl || type == kUserDefined || type == kUnknown;
}

Result<std::unique_ptr<Tokenizer>> LoadGpt2(const GgufFile& gguf) {
  const std::string& path = gguf.source();
  std::string pre = "default";
  if (gguf.Find("tokenizer.ggml.pre") != nullptr) {
    LS_ASSIGN_OR_RETURN(std::string_view value, gguf.GetString("tokenizer.ggml.pre"));
    pre = value;
  }
  std::string_view pattern;
  bool ignore_merges = false;
  bool llama3 = pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3";
  // llama.cpp adds BOS for Llama 3 unless the file says otherwise.
  LS_ASSIGN_OR_RETURN(Vocabulary vocab, ReadVocabulary(gguf, /*default_add_bos=*/llama3));
  if (llama3) {
    pattern = kLlama3Pattern;
    ignore_merges = true;
  } else if (pre == "qwen2") {
    pattern = kQwen2Pattern;
  } else if (pre == "default" || pre == "gpt-2" || pre == "gpt2") {
    pattern = kGpt2Pattern;
  } else {
    return MakeError(ErrorCode::kUnsupported,
                     "{}: tokenizer.ggml.pre '{}' (this build knows llama-bpe, qwen2, gpt-2)", path,
                     pre);
  }
  BpeTokenizer::Parts parts(BpeModel(BpeModel::Symbols::kBytes, ignore_merges));
  BpeModel& model = parts.model;
  std::vector<std::optional<std::string>> token_bytes(vocab.tokens.size());
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    std::string_view text = vocab.tokens[id];
    if (IsSpecial(vocab.types[id])) {
      parts.specials.Add(std::string(text), id, /*always=*/vocab.types[id] == kUserDefined);
      token_bytes[id] = std::string(text);
      continue;
    }
    auto bytes = ByteLevelToBytes(text);
    if (!bytes) {
      return MakeError(ErrorCode::kCorrupt,
                       "{}: tokenizer.ggml.tokens[{}] is not in the byte-level alphabet", path, id);
    }
    token_bytes[id] = *bytes;
    LS_RETURN_IF_ERROR(
        model.AddToken(id, std::move(*bytes), fmt::format("{}: tokenizer.ggml.tokens", path)));
  }
  LS_ASSIGN_OR_RETURN(auto merges, gguf.GetStringArray("tokenizer.ggml.merges"));
  for (size_t i = 0; i < merges.size(); ++i) {
    std::string where = fmt::format("{}: tokenizer.ggml.merges[{}]", path, i);
    size_t space = merges[i].find(' ', 1);
    auto left = ByteLevelToBytes(merges[i].substr(0, space));
    auto right = space == std::string_view::npos ? std::nullopt
                                                 : ByteLevelToBytes(merges[i].substr(space + 1));
    if (!left || !right) {
      return MakeError(ErrorCode::kCorrupt, "{}: expected two byte-level tokens", where);
    }
    LS_RETURN_IF_ERROR(model.AddMerge(*left, *right, where));
  }
  LS_RETURN_IF_ERROR(model.Finish(path));
  LS_ASSIGN_OR_RETURN(auto splitter, RegexSplitter::Create(pattern, path));
  parts.splitters.push_back(std::move(splitter));
  parts.token_bytes = std::move(token_bytes);
  parts.bos_id = vocab.bos_id;
  parts.eos_ids = vocab.eos_ids;
  parts.specials.AddEndOfTurnIds(parts.eos_ids);
  return std::unique_ptr<Tokenizer>(new BpeTokenizer(std::move(parts)));
}

Result<std::unique_ptr<Tokenizer>> LoadLlamaSpm(const GgufFile& gguf) {
  const std::string& path = gguf.source();
  LS_ASSIGN_OR_RETURN(Vocabulary vocab, ReadVocabulary(gguf, /*default_add_bos=*/true));
  LS_ASSIGN_OR_RETURN(auto scores, gguf.GetFloatArray("tokenizer.ggml.scores"));
  if (scores.size() != vocab.tokens.size()) {
    return MakeError(ErrorCode::kCorrupt, "{}: tokenizer.ggml.scores has {} entries for {} tokens",
                     path, scores.size(), vocab.tokens.size());
  }
  SpmTokenizer::Parts parts;
  std::fill(std::begin(parts.byte_ids), std::end(parts.byte_ids), -1);
  LS_ASSIGN_OR_RETURN(parts.add_space_prefix,
                      OptionalBool(gguf, "tokenizer.ggml.add_space_prefix", true));
  LS_ASSIGN_OR_RETURN(parts.unknown_id,
                      OptionalId(gguf, "tokenizer.ggml.unknown_token_id", vocab.tokens.size()));
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    std::string text(vocab.tokens[id]);
    int64_t type = vocab.types[id];
    parts.scores.push_back(static_cast<float>(scores[id]));
    if (type == kByte) {
      auto byte = ParseBytePiece(text);
      if (!byte) {
        return MakeError(ErrorCode::kCorrupt, "{}: byte token {} is '{}', not <0xXX>", path, id,
                         text);
      }
      parts.byte_ids[*byte] = id;
      parts.token_bytes.push_back(std::string(1, static_cast<char>(*byte)));
      continue;
    }
    if (IsSpecial(type)) parts.specials.Add(text, id, /*always=*/type == kUserDefined);
    if (type == kNormal || type == kUserDefined) parts.pieces.emplace(text, id);
    // Normal pieces write spaces as U+2581.
    std::string bytes = type == kNormal ? ReplaceAll(text, kSpacePiece, " ") : text;
    parts.token_bytes.push_back(std::move(bytes));
  }
  parts.bos_id = vocab.bos_id;
  parts.eos_ids = vocab.eos_ids;
  parts.specials.AddEndOfTurnIds(parts.eos_ids);
  return std::unique_ptr<Tokenizer>(new SpmTokenizer(std::move(parts)));
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> LoadGgufTokenizer(const std::string& path) {
  LS_ASSIGN_OR_RETURN(GgufFile gguf, GgufFile::Open(path));
  LS_ASSIGN_OR_RETURN(std::string_view model, gguf.GetString("tokenizer.ggml.model"));
  if (model == "gpt2") return LoadGpt2(gguf);
  if (model == "llama") return LoadLlamaSpm(gguf);
  return MakeError(ErrorCode::kUnsupported,
                   "{}: tokenizer.ggml.model '{}' (this build reads gpt2 and llama)", path, model);
}

}  // namespace lorashare

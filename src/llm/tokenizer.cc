#include "llm/tokenizer.h"

#include <filesystem>

#include "base/mapped_file.h"
#include "llm/tokenizer_formats.h"
#include "llm/utf8.h"

namespace lorashare {
namespace {

bool StartsWithJsonObject(std::string_view bytes) {
  size_t first = bytes.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && bytes[first] == '{';
}

}  // namespace

Tokenizer::~Tokenizer() = default;

Result<std::unique_ptr<Tokenizer>> Tokenizer::Load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  std::string file_path = path;
  if (fs::is_directory(path, error)) file_path = (fs::path(path) / "tokenizer.json").string();
  LS_ASSIGN_OR_RETURN(auto file, MappedFile::Open(file_path));
  std::string_view bytes(reinterpret_cast<const char*>(file->bytes().data()), file->size());
  if (bytes.empty())
    return MakeError(ErrorCode::kCorrupt, "{}: tokenizer file is empty", file_path);
  if (bytes.starts_with("GGUF")) return LoadGgufTokenizer(file_path);
  if (StartsWithJsonObject(bytes)) {
    fs::path config = fs::path(file_path).parent_path() / "tokenizer_config.json";
    return LoadHfTokenizer(*file, fs::exists(config, error) ? config.string() : std::string());
  }
  if (LooksLikeTiktoken(bytes)) return LoadTiktoken(*file);
  // A SentencePiece ModelProto starts with its first `pieces` entry (field 1,
  // length-delimited).
  if (bytes[0] == 0x0A) return LoadSentencePiece(*file);
  return MakeError(ErrorCode::kUnsupported,
                   "{}: not a tokenizer this build reads (tiktoken tokenizer.model, "
                   "tokenizer.json, SentencePiece .model or GGUF)",
                   file_path);
}

TokenizerFacts FactsOf(const Tokenizer& tokenizer) {
  TokenizerFacts facts;
  facts.bos_id = tokenizer.bos_id().value_or(-1);
  facts.eos_ids = tokenizer.eos_ids();
  return facts;
}

Result<std::string> StreamingDecoder::Push(int32_t id) {
  LS_ASSIGN_OR_RETURN(std::string bytes, tokenizer_.TokenBytes(id));
  pending_ += bytes;
  size_t complete = CompleteUtf8Prefix(pending_);
  std::string out = pending_.substr(0, complete);
  pending_.erase(0, complete);
  return out;
}

std::string StreamingDecoder::Flush() { return std::exchange(pending_, std::string()); }

}  // namespace lorashare

// The loaders behind Tokenizer::Load, one per file format. Each takes the
// mapped file (already known to be of its format) and its path for messages.
#pragma once

#include <memory>
#include <string>

#include "base/mapped_file.h"
#include "llm/tokenizer.h"

namespace lorashare {

// Llama 3 `tokenizer.model`: `base64 rank` lines; the 256 Llama 3 special
// tokens follow the base vocabulary.
Result<std::unique_ptr<Tokenizer>> LoadTiktoken(const MappedFile& file);
// True when the file starts with a tiktoken vocabulary line.
bool LooksLikeTiktoken(std::string_view bytes);

// Hugging Face `tokenizer.json` (BPE model); `config_path` is the
// tokenizer_config.json beside it, or empty.
Result<std::unique_ptr<Tokenizer>> LoadHfTokenizer(const MappedFile& file,
                                                   const std::string& config_path);

// `tokenizer.ggml.*` metadata of a GGUF file (gpt2 BPE or llama SPM).
Result<std::unique_ptr<Tokenizer>> LoadGgufTokenizer(const std::string& path);

// SentencePiece model protobuf, through libsentencepiece.
Result<std::unique_ptr<Tokenizer>> LoadSentencePiece(const MappedFile& file);

}  // namespace lorashare

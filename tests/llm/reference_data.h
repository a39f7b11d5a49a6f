// Reference data the llm tests compare against, produced at test time by
// independent implementations (npm packages installed by scripts/setup.sh,
// llama.cpp's source tree), never by lorashare itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "test_util.h"  // SourceDir

namespace lorashare::testing {

// A directory holding Llama 3's vocabulary exported from llama3-tokenizer-js
// (tokenizer.model, tokenizer.json, tokenizer_config.json), a >= 1 MB corpus
// (corpus.txt) and that package's encoding of it (corpus.ids). Generated once
// per build tree.
const std::string& Llama3ReferenceDir();

// tokenizer.json + tokenizer_config.json laid out like Qwen2's, converted
// from llama.cpp's ggml-vocab-qwen2.gguf by gguf-py (tests/llm/gguf_to_hf.py).
const std::string& Qwen2HfDir();

// A small SentencePiece BPE model trained by python3-sentencepiece on part of
// the Llama 3 corpus (spm.model), that text (text.txt) and its ids (text.ids).
const std::string& SentencePieceReferenceDir();

// llama.cpp's vocab-only GGUF files and their test vectors.
std::string LlamaCppVocab(const std::string& name);  // e.g. "llama-bpe"

std::string ReadFileOrDie(const std::string& path);
std::vector<int32_t> ParseIds(const std::string& text);  // whitespace-separated

}  // namespace lorashare::testing

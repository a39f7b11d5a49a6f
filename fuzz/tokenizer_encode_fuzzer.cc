// Fuzzes encoding and streaming decoding with arbitrary text on a byte-level
// BPE (tiktoken) and a character BPE with byte fallback (tokenizer.json):
// invalid UTF-8 must be an error, and valid text must decode back to itself.
#include <cstdlib>

#include "llm/base64.h"
#include "tokenizer_fuzz_util.h"

namespace {

using lorashare::Tokenizer;

// 256 byte tokens plus merges that make long, overlapping pieces.
std::unique_ptr<Tokenizer> TiktokenVocabulary() {
  std::string lines;
  int rank = 0;
  for (int byte = 0; byte < 256; ++byte) {
    lines += lorashare::EncodeBase64(std::string(1, static_cast<char>(byte))) + " " +
             std::to_string(rank++) + "\n";
  }
  for (const char* token : {"  ", "    ", "he", "ll", "hell", "hello", " w", " wo", "\xC3\xA4",
                            "12", "123", "<|", "|>", "\xF0\x9F"}) {
    lines += lorashare::EncodeBase64(token) + " " + std::to_string(rank++) + "\n";
  }
  auto path = lorashare::fuzz::WriteInput(
      "encode.model", reinterpret_cast<const uint8_t*>(lines.data()), lines.size());
  return std::move(Tokenizer::Load(path)).value();
}

std::unique_ptr<Tokenizer> MetaspaceVocabulary() {
  std::string json = R"({"added_tokens": [{"id": 0, "content": "<s>", "special": true}],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
      {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
    "decoder": {"type": "Sequence", "decoders": [
      {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
      {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
    "model": {"type": "BPE", "byte_fallback": true, "vocab": {"<s>": 0, "▁": 1, "a": 2, "▁a": 3)";
  for (int byte = 0; byte < 256; ++byte) {
    char name[16];
    std::snprintf(name, sizeof(name), "<0x%02X>", byte);
    json += ", \"" + std::string(name) + "\": " + std::to_string(4 + byte);
  }
  json += R"(}, "merges": ["▁ a"]}})";
  auto path = lorashare::fuzz::WriteInput(
      "encode.json", reinterpret_cast<const uint8_t*>(json.data()), json.size());
  return std::move(Tokenizer::Load(path)).value();
}

void Check(const Tokenizer& tokenizer, std::string_view text, bool lossless) {
  for (bool specials : {true, false}) {
    auto ids = tokenizer.Encode(text, specials);
    if (!ids.ok()) return;  // invalid UTF-8
    auto decoded = tokenizer.Decode(*ids);
    if (!decoded.ok()) std::abort();
    if (lossless && *decoded != text) std::abort();
    lorashare::StreamingDecoder stream(tokenizer);
    std::string streamed;
    for (int32_t id : *ids) {
      auto piece = stream.Push(id);
      if (!piece.ok()) std::abort();
      streamed += *piece;
    }
    streamed += stream.Flush();
    if (lossless && streamed != text) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto tiktoken = TiktokenVocabulary();
  static const auto metaspace = MetaspaceVocabulary();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Check(*tiktoken, text, /*lossless=*/true);
  // Metaspace decoding drops the prefix space, and a leading space of the
  // text with it, so only the absence of crashes is checked there.
  Check(*metaspace, text, /*lossless=*/false);
  return 0;
}

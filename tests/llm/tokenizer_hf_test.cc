// The tokenizer.json loader: Llama 3's vocabulary exported from
// llama3-tokenizer-js (merges as strings), and Qwen2's converted from
// llama.cpp's GGUF by gguf-py (merges as pairs, NFC), checked against that
// package's encoding and llama.cpp's test vectors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llm/tokenizer.h"
#include "reference_data.h"
#include "test_files.h"

namespace lorashare {
namespace {

using ::testing::HasSubstr;
using testing::Llama3ReferenceDir;
using testing::ParseIds;
using testing::Qwen2HfDir;
using testing::ReadFileOrDie;
using testing::TokenizerLoadError;
using testing::WriteTestFile;

std::unique_ptr<Tokenizer> LoadOrFail(const std::string& path) {
  auto loaded = Tokenizer::Load(path);
  EXPECT_TRUE(loaded.ok()) << loaded.error().message();
  return loaded.ok() ? std::move(loaded).value() : nullptr;
}

TEST(HfTokenizerTest, Llama3JsonMatchesTiktokenAndReference) {
  const std::string dir = Llama3ReferenceDir();
  auto json = LoadOrFail(dir);  // a directory: tokenizer.json + tokenizer_config.json
  auto tiktoken = LoadOrFail(dir + "/tokenizer.model");
  ASSERT_TRUE(json && tiktoken);
  std::string corpus = ReadFileOrDie(dir + "/corpus.txt");
  auto from_json = json->Encode(corpus);
  auto from_tiktoken = tiktoken->Encode(corpus);
  ASSERT_TRUE(from_json.ok() && from_tiktoken.ok());
  EXPECT_TRUE(*from_json == ParseIds(ReadFileOrDie(dir + "/corpus.ids")));
  EXPECT_TRUE(*from_json == *from_tiktoken);
  EXPECT_TRUE(*json->Decode(*from_json) == corpus);
  EXPECT_EQ(json->vocab_size(), tiktoken->vocab_size());
  EXPECT_EQ(json->bos_id(), 128000);  // from the TemplateProcessing post-processor
  EXPECT_THAT(json->eos_ids(), ::testing::UnorderedElementsAre(128009, 128001, 128008));
}

TEST(HfTokenizerTest, Qwen2JsonMatchesLlamaCppVectors) {
  auto qwen = LoadOrFail(Qwen2HfDir() + "/tokenizer.json");
  ASSERT_TRUE(qwen);
  std::string vocab = testing::LlamaCppVocab("qwen2");
  std::string inputs = ReadFileOrDie(vocab + ".inp");
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::string outputs = ReadFileOrDie(vocab + ".out");
  size_t in_pos = 0, out_pos = 0, cases = 0;
  while (in_pos < inputs.size()) {
    size_t in_end = inputs.find(separator, in_pos);
    if (in_end == std::string::npos) in_end = inputs.size();
    size_t out_end = outputs.find('\n', out_pos);
    ASSERT_NE(out_end, std::string::npos);
    std::string text = inputs.substr(in_pos, in_end - in_pos);
    auto ids = qwen->Encode(text, /*parse_specials=*/false);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*ids, ParseIds(outputs.substr(out_pos, out_end - out_pos))) << "text: " << text;
    in_pos = in_end == inputs.size() ? in_end : in_end + separator.size();
    out_pos = out_end + 1;
    ++cases;
  }
  EXPECT_GE(cases, 40u);
}

TEST(HfTokenizerTest, Qwen2SpecialsAndNfc) {
  auto qwen = LoadOrFail(Qwen2HfDir() + "/tokenizer.json");
  ASSERT_TRUE(qwen);
  auto im_end = qwen->SpecialTokenId("<|im_end|>");
  ASSERT_TRUE(im_end.has_value());
  EXPECT_THAT(qwen->eos_ids(), ::testing::Contains(*im_end));
  EXPECT_EQ(qwen->bos_id(), std::nullopt);
  auto ids = qwen->Encode("<|im_start|>user\nhi<|im_end|>");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->front(), *qwen->SpecialTokenId("<|im_start|>"));
  EXPECT_EQ(ids->back(), *im_end);
  // "e" + combining diaeresis composes to "ë" under NFC.
  EXPECT_EQ(*qwen->Encode("e\xCC\x88"), *qwen->Encode("\xC3\xAB"));
}

TEST(HfTokenizerTest, MetaspaceByteFallbackVocabulary) {
  // A Llama-2-style file: SentencePiece pieces with U+2581 for spaces,
  // <0xXX> byte fallback, and the decoder sequence that undoes both.
  std::string json = R"({
    "added_tokens": [{"id": 0, "content": "<s>", "special": true}],
    "normalizer": {"type": "Sequence", "normalizers": [
      {"type": "Prepend", "prepend": "▁"},
      {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
    "pre_tokenizer": null,
    "decoder": {"type": "Sequence", "decoders": [
      {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
      {"type": "ByteFallback"}, {"type": "Fuse"},
      {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
    "model": {"type": "BPE", "byte_fallback": true, "unk_token": null,
      "vocab": {"<s>": 0, "<0xC3>": 1, "<0xA9>": 2, "▁": 3, "h": 4, "i": 5, "▁h": 6, "▁hi": 7},
      "merges": ["▁ h", ["▁h", "i"]]}})";
  auto tokenizer = LoadOrFail(WriteTestFile("llama2_style.json", json));
  ASSERT_TRUE(tokenizer);
  auto ids = tokenizer->Encode("hi hié");
  ASSERT_TRUE(ids.ok());
  EXPECT_THAT(*ids, ::testing::ElementsAre(7, 7, 1, 2));
  EXPECT_EQ(*tokenizer->Decode(*ids), "hi hié");
  // Prepend applies to each run of text, also after an added token.
  EXPECT_EQ(*tokenizer->Encode("<s>hi"), (std::vector<int32_t>{0, 7}));
}

TEST(HfTokenizerTest, RejectsBadFiles) {
  std::string real = ReadFileOrDie(Llama3ReferenceDir() + "/tokenizer.json");
  EXPECT_THAT(TokenizerLoadError("tokenizer.json", real.substr(0, real.size() / 2)),
              HasSubstr("not valid JSON"));
  EXPECT_THAT(TokenizerLoadError("t1.json", R"({"model": {"type": "WordPiece", "vocab": {}}})"),
              HasSubstr("model of type 'WordPiece'"));
  EXPECT_THAT(TokenizerLoadError("t2.json", R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1},
      "merges": ["a c"]}})"),
              HasSubstr("merges[0]"));
  EXPECT_THAT(TokenizerLoadError("t3.json",
                                 R"({"model": {"type": "BPE", "vocab": {"a": 7}, "merges": []}})"),
              HasSubstr("past the"));
  EXPECT_THAT(TokenizerLoadError("t4.json", R"({"model": {"type": "BPE", "vocab": [1, 2]}})"),
              HasSubstr("model.vocab"));
  EXPECT_THAT(
      TokenizerLoadError("t5.json", R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
      "normalizer": {"type": "NFKC"}})"),
      HasSubstr("normalizer of type 'NFKC'"));
  EXPECT_THAT(
      TokenizerLoadError("t6.json", R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
      "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(("}, "behavior": "Isolated"}})"),
      HasSubstr("does not compile"));
}

}  // namespace
}  // namespace lorashare

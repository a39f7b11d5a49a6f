// The loaders read the tokenizers `lorashare make-test-model` writes for its
// synthetic models (src/testmodel/synthetic_vocab.h): the tiktoken one
// encodes like @dqbd/tiktoken, the Qwen-style tokenizer.json loads with its
// special tokens and eos, and both decode what they encode.
#include "testmodel/synthetic_vocab.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "llm/tokenizer.h"
#include "reference_data.h"
#include "test_files.h"

namespace lorashare {
namespace {

using testing::ParseIds;
using testing::ReadFileOrDie;

std::string RunCommand(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  std::string out;
  char buffer[65536];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe.get())) > 0;) out.append(buffer, n);
  return out;
}

std::string SampleText() {
  return ReadFileOrDie(testing::Llama3ReferenceDir() + "/corpus.txt").substr(0, 100000);
}

TEST(SyntheticVocabTest, TiktokenModelMatchesDqbdTiktoken) {
  SyntheticVocab vocab = BuildSyntheticVocab(3000);
  std::string path = testing::TestFilePath("synthetic_tokenizer.model");
  ASSERT_TRUE(WriteTiktokenModel(path, vocab).ok());
  auto tokenizer = Tokenizer::Load(path);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().message();
  EXPECT_EQ((*tokenizer)->vocab_size(), 3000 + 256);
  EXPECT_EQ((*tokenizer)->bos_id(), 3000);
  std::string text = SampleText();
  std::string text_path = testing::WriteTestFile("synthetic_text.txt", text);
  std::vector<int32_t> expected = ParseIds(RunCommand(fmt::format(
      "node {}/tests/llm/tiktoken_ids.mjs {} {}", testing::SourceDir(), path, text_path)));
  auto ids = (*tokenizer)->Encode(text);
  ASSERT_TRUE(ids.ok());
  EXPECT_GT(expected.size(), 1000u);
  EXPECT_TRUE(*ids == expected);
  EXPECT_TRUE(*(*tokenizer)->Decode(*ids) == text);
}

TEST(SyntheticVocabTest, QwenStyleJsonLoads) {
  SyntheticVocab vocab = BuildSyntheticVocab(1000);
  std::string dir = testing::TestFilePath("synthetic_qwen");
  std::filesystem::create_directories(dir);
  TokenizerFacts facts;
  facts.eos_ids = {1002};
  ASSERT_TRUE(
      WriteHfTokenizer(dir, vocab, {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}, facts, 4096)
          .ok());
  auto tokenizer = Tokenizer::Load(dir);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().message();
  EXPECT_EQ((*tokenizer)->vocab_size(), 1003);
  EXPECT_EQ((*tokenizer)->SpecialTokenId("<|im_end|>"), 1002);
  EXPECT_THAT((*tokenizer)->eos_ids(), ::testing::Contains(1002));
  EXPECT_EQ((*tokenizer)->bos_id(), std::nullopt);
  // Text already in NFC, so that the NFC normalizer leaves it alone.
  std::string text = "Hello world, it's 12345 tokens\n\n   ü 你好 🦙<|im_end|>";
  auto ids = (*tokenizer)->Encode(text);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->back(), 1002);
  EXPECT_EQ(*(*tokenizer)->Decode(*ids), text);
}

}  // namespace
}  // namespace lorashare

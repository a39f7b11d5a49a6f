// SentencePiece .model files against python3-sentencepiece's encoding.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llm/tokenizer.h"
#include "reference_data.h"
#include "test_files.h"

namespace lorashare {
namespace {

using testing::ParseIds;
using testing::ReadFileOrDie;
using testing::SentencePieceReferenceDir;

TEST(SentencePieceTest, MatchesPythonSentencePiece) {
  const std::string dir = SentencePieceReferenceDir();
  auto tokenizer = Tokenizer::Load(dir + "/spm.model");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().message();
  std::string text = ReadFileOrDie(dir + "/text.txt");
  auto ids = (*tokenizer)->Encode(text);
  ASSERT_TRUE(ids.ok());
  EXPECT_TRUE(*ids == ParseIds(ReadFileOrDie(dir + "/text.ids")));
  EXPECT_GT(std::count_if(ids->begin(), ids->end(), [](int32_t id) { return id < 259; }), 0)
      << "the text exercises byte fallback";
  auto decoded = (*tokenizer)->Decode(*ids);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(*decoded == text);
  EXPECT_EQ((*tokenizer)->vocab_size(), 1000);
  EXPECT_EQ((*tokenizer)->bos_id(), 1);
  EXPECT_THAT((*tokenizer)->eos_ids(), ::testing::ElementsAre(2));
}

TEST(SentencePieceTest, ControlPiecesAndBadInput) {
  auto tokenizer = Tokenizer::Load(SentencePieceReferenceDir() + "/spm.model");
  ASSERT_TRUE(tokenizer.ok());
  auto ids = (*tokenizer)->Encode("<s>hi</s>");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->front(), 1);
  EXPECT_EQ(ids->back(), 2);
  auto plain = (*tokenizer)->Encode("<s>", /*parse_specials=*/false);
  ASSERT_TRUE(plain.ok());
  EXPECT_THAT(*plain, ::testing::Not(::testing::Contains(1)));
  EXPECT_FALSE((*tokenizer)->Encode("\xED\xA0\x80").ok());  // a surrogate
  EXPECT_FALSE((*tokenizer)->Decode(std::vector<int32_t>{1000}).ok());

  std::string bytes = ReadFileOrDie(SentencePieceReferenceDir() + "/spm.model");
  auto cut =
      Tokenizer::Load(testing::WriteTestFile("cut.model", bytes.substr(0, bytes.size() / 2)));
  ASSERT_FALSE(cut.ok());
  EXPECT_THAT(cut.error().message(), ::testing::HasSubstr("cut.model"));
}

}  // namespace
}  // namespace lorashare

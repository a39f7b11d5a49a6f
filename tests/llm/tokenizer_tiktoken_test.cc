// The tiktoken loader against llama3-tokenizer-js (an independent JavaScript
// implementation with the real Llama 3 vocabulary).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llm/tokenizer.h"
#include "llm/utf8.h"
#include "reference_data.h"
#include "test_files.h"

namespace lorashare {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Llama3ReferenceDir;
using testing::ParseIds;
using testing::ReadFileOrDie;
using testing::TokenizerLoadError;
using testing::WriteTestFile;

const Tokenizer& Llama3() {
  static std::unique_ptr<Tokenizer> tokenizer = [] {
    auto loaded = Tokenizer::Load(Llama3ReferenceDir() + "/tokenizer.model");
    EXPECT_TRUE(loaded.ok()) << loaded.error().message();
    return loaded.ok() ? std::move(loaded).value() : nullptr;
  }();
  return *tokenizer;
}

// Compares two id sequences and reports the first difference with the text
// around it, which a plain container comparison of 200k ids would not show.
void ExpectSameIds(const Tokenizer& tokenizer, const std::vector<int32_t>& actual,
                   const std::vector<int32_t>& expected) {
  size_t i = 0;
  while (i < actual.size() && i < expected.size() && actual[i] == expected[i]) ++i;
  if (i == actual.size() && i == expected.size()) return;
  size_t from = i >= 5 ? i - 5 : 0;
  auto window = [&](const std::vector<int32_t>& ids) {
    std::vector<int32_t> part(ids.begin() + std::min(from, ids.size()),
                              ids.begin() + std::min(i + 5, ids.size()));
    auto text = tokenizer.Decode(part);
    return fmt::format("[{}] '{}'", fmt::join(part, " "), text.ok() ? *text : "?");
  };
  ADD_FAILURE() << "first difference at id " << i << " of " << expected.size()
                << "\n  ours:      " << window(actual) << "\n  reference: " << window(expected);
}

TEST(TiktokenTest, KnownIds) {
  auto ids = Llama3().Encode("Hello world! 123");
  ASSERT_TRUE(ids.ok());
  EXPECT_THAT(*ids, ElementsAre(9906, 1917, 0, 220, 4513));
  EXPECT_EQ(Llama3().vocab_size(), 128256);
  EXPECT_EQ(Llama3().bos_id(), 128000);
  EXPECT_THAT(Llama3().eos_ids(), ::testing::Contains(128009));
  EXPECT_THAT(Llama3().eos_ids(), ::testing::Contains(128001));
  EXPECT_EQ(Llama3().SpecialTokenId("<|eot_id|>"), 128009);
  EXPECT_EQ(Llama3().SpecialTokenId("<|eot_id"), std::nullopt);
}

TEST(TiktokenTest, CorpusMatchesLlama3TokenizerJs) {
  const std::string dir = Llama3ReferenceDir();
  std::string corpus = ReadFileOrDie(dir + "/corpus.txt");
  ASSERT_GE(corpus.size(), 1u << 20);
  std::vector<int32_t> expected = ParseIds(ReadFileOrDie(dir + "/corpus.ids"));
  auto ids = Llama3().Encode(corpus);
  ASSERT_TRUE(ids.ok()) << ids.error().message();
  ExpectSameIds(Llama3(), *ids, expected);
}

TEST(TiktokenTest, DecodeInvertsEncode) {
  std::string corpus = ReadFileOrDie(Llama3ReferenceDir() + "/corpus.txt");
  auto ids = Llama3().Encode(corpus);
  ASSERT_TRUE(ids.ok());
  auto text = Llama3().Decode(*ids);
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(*text == corpus);
}

TEST(TiktokenTest, SpecialsAsPlainText) {
  auto parsed = Llama3().Encode("<|start_header_id|>user<|end_header_id|>");
  ASSERT_TRUE(parsed.ok());
  EXPECT_THAT(*parsed, ElementsAre(128006, 882, 128007));
  auto plain = Llama3().Encode("<|eot_id|>", /*parse_specials=*/false);
  ASSERT_TRUE(plain.ok());
  EXPECT_GT(plain->size(), 1u);
  EXPECT_THAT(*plain, ::testing::Each(::testing::Lt(128000)));
  EXPECT_EQ(*Llama3().Decode(*plain), "<|eot_id|>");
}

TEST(TiktokenTest, StreamingHoldsBackSplitCharacters) {
  std::string corpus = ReadFileOrDie(Llama3ReferenceDir() + "/corpus.txt").substr(0, 200000);
  auto ids = Llama3().Encode(corpus);
  ASSERT_TRUE(ids.ok());
  StreamingDecoder decoder(Llama3());
  std::string streamed;
  size_t split_tokens = 0;
  for (int32_t id : *ids) {
    auto piece = decoder.Push(id);
    ASSERT_TRUE(piece.ok());
    ASSERT_TRUE(IsValidUtf8(*piece));
    if (!IsValidUtf8(*Llama3().TokenBytes(id))) ++split_tokens;
    streamed += *piece;
  }
  streamed += decoder.Flush();
  EXPECT_GT(split_tokens, 0u);  // the corpus does exercise the hold-back
  EXPECT_TRUE(streamed == corpus);
}

TEST(TiktokenTest, StreamingPassesInvalidBytesThrough) {
  // Token 127 of Llama 3 is the single byte 0xC2; alone it never completes.
  StreamingDecoder decoder(Llama3());
  auto lead = decoder.Push(*Llama3().Encode("\xC2\xA0").value().begin());
  ASSERT_TRUE(lead.ok());
  auto ascii = decoder.Push(Llama3().Encode("a").value()[0]);
  ASSERT_TRUE(ascii.ok());
  EXPECT_EQ(*lead + *ascii + decoder.Flush(), std::string("\xC2\xA0") + "a");
}

TEST(TiktokenTest, RejectsBadText) {
  auto ids = Llama3().Encode("ok \xFF\xFE bad");
  ASSERT_FALSE(ids.ok());
  EXPECT_THAT(ids.error().message(), HasSubstr("not valid UTF-8 at byte 3"));
  auto text = Llama3().Decode(std::vector<int32_t>{9906, 128256});
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(text.error().message(), HasSubstr("128256"));
  EXPECT_FALSE(Llama3().Decode(std::vector<int32_t>{-1}).ok());
  EXPECT_FALSE(Llama3().TokenBytes(1 << 30).ok());
}

TEST(TiktokenTest, RejectsBadFiles) {
  auto missing = Tokenizer::Load(::testing::TempDir() + "/no-such-tokenizer.model");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message(), HasSubstr("no-such-tokenizer.model"));
  EXPECT_THAT(TokenizerLoadError("empty.model", ""), HasSubstr("empty"));
  // Truncated in the middle of a line of the real vocabulary.
  std::string real = ReadFileOrDie(Llama3ReferenceDir() + "/tokenizer.model");
  std::string cut = real.substr(0, real.find("\n", 1000) + 4);
  EXPECT_THAT(TokenizerLoadError("cut.model", cut), HasSubstr("line"));
  EXPECT_THAT(TokenizerLoadError("b64.model", "IQ== 0\nI*== 1\n"),
              HasSubstr("line 2: invalid base64"));
  EXPECT_THAT(TokenizerLoadError("rank.model", "IQ== 0\nIg== 0\n"),
              HasSubstr("line 2: duplicate rank 0"));
  EXPECT_THAT(TokenizerLoadError("bytes.model", "IQ== 0\nIQ== 1\n"), HasSubstr("repeats"));
  EXPECT_THAT(TokenizerLoadError("gap.model", "IQ== 0\nIg== 2\nIw== 3\n"),
              HasSubstr("rank 1 is missing"));
  EXPECT_THAT(TokenizerLoadError("huge.model", "IQ== 2000000000\n"), HasSubstr("beyond"));
  // A valid file whose vocabulary lacks single bytes cannot encode everything.
  EXPECT_THAT(TokenizerLoadError("bytes2.model", "IQ== 0\nIg== 1\n"),
              HasSubstr("no token for byte"));
}

}  // namespace
}  // namespace lorashare

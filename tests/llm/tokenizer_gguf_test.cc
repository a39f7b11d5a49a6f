// GGUF vocabularies against llama.cpp's own tokenizer test vectors
// (models/ggml-vocab-*.gguf with .inp/.out, made by its reference script from
// the Hugging Face tokenizers).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llm/tokenizer.h"
#include "reference_data.h"
#include "test_files.h"

namespace lorashare {
namespace {

using testing::LlamaCppVocab;
using testing::ParseIds;
using testing::ReadFileOrDie;

struct VocabCase {
  std::string text;
  std::vector<int32_t> ids;
};

// The .inp file separates cases by "\n__ggml_vocab_test__\n"; the .out file
// has one line of ids per case (as llama.cpp's test-tokenizer-0 reads them).
std::vector<VocabCase> ReadCases(const std::string& vocab) {
  std::string inputs = ReadFileOrDie(vocab + ".inp");
  std::string outputs = ReadFileOrDie(vocab + ".out");
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<VocabCase> cases;
  for (size_t pos = 0; pos < inputs.size();) {
    size_t next = inputs.find(separator, pos);
    if (next == std::string::npos) next = inputs.size();
    cases.push_back({inputs.substr(pos, next - pos), {}});
    pos = next == inputs.size() ? next : next + separator.size();
  }
  size_t line_start = 0;
  for (VocabCase& c : cases) {
    size_t end = outputs.find('\n', line_start);
    if (end == std::string::npos) break;
    c.ids = ParseIds(outputs.substr(line_start, end - line_start));
    line_start = end + 1;
  }
  return cases;
}

class LlamaCppVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaCppVectors, EncodeMatches) {
  std::string vocab = LlamaCppVocab(GetParam());
  auto tokenizer = Tokenizer::Load(vocab);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().message();
  auto cases = ReadCases(vocab);
  ASSERT_GE(cases.size(), 40u);
  for (const VocabCase& c : cases) {
    auto ids = (*tokenizer)->Encode(c.text, /*parse_specials=*/false);
    ASSERT_TRUE(ids.ok()) << ids.error().message();
    EXPECT_EQ(*ids, c.ids) << "text: '" << c.text << "'";
    auto text = (*tokenizer)->Decode(*ids);
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, c.text);
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, LlamaCppVectors,
                         ::testing::Values("llama-bpe", "qwen2", "llama-spm", "gpt-2"));

TEST(GgufTokenizerTest, Facts) {
  auto llama3 = Tokenizer::Load(LlamaCppVocab("llama-bpe"));
  ASSERT_TRUE(llama3.ok());
  EXPECT_EQ((*llama3)->vocab_size(), 128256);
  EXPECT_EQ((*llama3)->bos_id(), 128000);
  EXPECT_THAT((*llama3)->eos_ids(), ::testing::Contains(128009));
  auto parsed = (*llama3)->Encode("<|eot_id|>");
  ASSERT_TRUE(parsed.ok());
  EXPECT_THAT(*parsed, ::testing::ElementsAre(128009));

  auto qwen = Tokenizer::Load(LlamaCppVocab("qwen2"));
  ASSERT_TRUE(qwen.ok());
  EXPECT_TRUE((*qwen)->SpecialTokenId("<|im_end|>").has_value());

  auto spm = Tokenizer::Load(LlamaCppVocab("llama-spm"));
  ASSERT_TRUE(spm.ok());
  EXPECT_EQ((*spm)->bos_id(), 1);
  EXPECT_THAT((*spm)->eos_ids(), ::testing::Contains(2));
  EXPECT_FALSE((*spm)->Decode(std::vector<int32_t>{32000}).ok());
  EXPECT_FALSE((*spm)->Encode("\xC3").ok());
}

TEST(GgufTokenizerTest, RejectsTruncatedFile) {
  std::string bytes = ReadFileOrDie(LlamaCppVocab("llama-spm"));
  for (size_t length : {size_t{3}, size_t{20}, size_t{1000}, bytes.size() / 2, bytes.size() - 1}) {
    auto loaded = Tokenizer::Load(testing::WriteTestFile("cut.gguf", bytes.substr(0, length)));
    ASSERT_FALSE(loaded.ok()) << length;
    EXPECT_THAT(loaded.error().message(), ::testing::HasSubstr("cut.gguf"));
  }
}

}  // namespace
}  // namespace lorashare

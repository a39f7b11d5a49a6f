// Built-in chat templates against the models' real Jinja templates (from
// llama.cpp's models/templates) rendered by @huggingface/jinja.
#include "llm/chat_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "reference_data.h"

namespace lorashare {
namespace {

using testing::SourceDir;

std::string ShellQuote(std::string_view text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string Render(const std::string& model, const std::string& system, const std::string& user) {
  std::string command = fmt::format(
      "node {0}/tests/llm/render_chat_template.mjs "
      "{0}/third_party/llama.cpp-src/models/templates/{1}.jinja {2} {3}",
      SourceDir(), model, ShellQuote(system), ShellQuote(user));
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  std::string out;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe.get())) > 0;) out.append(buffer, n);
  return out;
}

struct TemplateCase {
  const char* model;
  ChatTemplateKind kind;
};

class ChatTemplateTest : public ::testing::TestWithParam<TemplateCase> {};

TEST_P(ChatTemplateTest, MatchesJinjaTemplate) {
  const TemplateCase& c = GetParam();
  for (std::string system : {"", "You are terse.", "  padded system \n"}) {
    for (std::string user : {"Hi there", " What is 2+2?\n", "multi\nline <b>ü</b>"}) {
      std::string expected = Render(c.model, system, user);
      ASSERT_FALSE(expected.empty());
      EXPECT_EQ(ApplyChatTemplate(c.kind, system, user), expected)
          << "system '" << system << "' user '" << user << "'";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, ChatTemplateTest,
    ::testing::Values(TemplateCase{"meta-llama-Llama-3.2-3B-Instruct", ChatTemplateKind::kLlama3},
                      TemplateCase{"meta-llama-Llama-3.1-8B-Instruct", ChatTemplateKind::kLlama3},
                      TemplateCase{"Qwen-Qwen3-0.6B", ChatTemplateKind::kChatMl}));

TEST(ChatTemplateKindTest, ChosenFromSpecialTokens) {
  auto llama3 = Tokenizer::Load(testing::LlamaCppVocab("llama-bpe"));
  auto qwen = Tokenizer::Load(testing::LlamaCppVocab("qwen2"));
  auto spm = Tokenizer::Load(testing::LlamaCppVocab("llama-spm"));
  ASSERT_TRUE(llama3.ok() && qwen.ok() && spm.ok());
  EXPECT_EQ(DetectChatTemplate(**llama3), ChatTemplateKind::kLlama3);
  EXPECT_EQ(DetectChatTemplate(**qwen), ChatTemplateKind::kChatMl);
  EXPECT_EQ(DetectChatTemplate(**spm), ChatTemplateKind::kNone);
  EXPECT_EQ(*ChatTemplateFromName("auto", **qwen), ChatTemplateKind::kChatMl);
  EXPECT_EQ(*ChatTemplateFromName("llama3", **qwen), ChatTemplateKind::kLlama3);
  EXPECT_FALSE(ChatTemplateFromName("vicuna", **qwen).ok());
  EXPECT_EQ(ApplyChatTemplate(ChatTemplateKind::kNone, "sys", "just this"), "just this");
  // The rendered prompt encodes to the template's special tokens.
  auto ids = (*qwen)->Encode(ApplyChatTemplate(ChatTemplateKind::kChatMl, "", "hi"));
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->front(), *(*qwen)->SpecialTokenId("<|im_start|>"));
}

}  // namespace
}  // namespace lorashare

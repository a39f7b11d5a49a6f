#include "llm/chat_template.h"

#include <fmt/format.h>

namespace lorashare {
namespace {

// Jinja's `trim` (Python str.strip()) on the whitespace that occurs in prompts.
std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\r\v\f";
  size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

// Llama 3.1/3.2/3.3 Instruct: the system block is always present and carries
// the template's default dates.
std::string Llama3(std::string_view system_prompt, std::string_view user_prompt) {
  return fmt::format(
      "<|start_header_id|>system<|end_header_id|>\n\n"
      "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n{}<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\n",
      Trim(system_prompt), Trim(user_prompt));
}

std::string ChatMl(std::string_view system_prompt, std::string_view user_prompt) {
  std::string out;
  if (!system_prompt.empty())
    out += fmt::format("<|im_start|>system\n{}<|im_end|>\n", system_prompt);
  out += fmt::format("<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n", user_prompt);
  return out;
}

}  // namespace

std::string ApplyChatTemplate(ChatTemplateKind kind, std::string_view system_prompt,
                              std::string_view user_prompt) {
  switch (kind) {
    case ChatTemplateKind::kLlama3:
      return Llama3(system_prompt, user_prompt);
    case ChatTemplateKind::kChatMl:
      return ChatMl(system_prompt, user_prompt);
    case ChatTemplateKind::kNone:
      break;
  }
  return std::string(user_prompt);
}

ChatTemplateKind DetectChatTemplate(const Tokenizer& tokenizer) {
  auto has = [&](std::string_view text) { return tokenizer.SpecialTokenId(text).has_value(); };
  if (has("<|start_header_id|>") && has("<|eot_id|>")) return ChatTemplateKind::kLlama3;
  if (has("<|im_start|>") && has("<|im_end|>")) return ChatTemplateKind::kChatMl;
  return ChatTemplateKind::kNone;
}

Result<ChatTemplateKind> ChatTemplateFromName(std::string_view name, const Tokenizer& tokenizer) {
  if (name == "auto") return DetectChatTemplate(tokenizer);
  if (name == "llama3") return ChatTemplateKind::kLlama3;
  if (name == "chatml" || name == "qwen") return ChatTemplateKind::kChatMl;
  if (name == "none") return ChatTemplateKind::kNone;
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown chat template '{}' (auto, llama3, chatml, none)", name);
}

}  // namespace lorashare

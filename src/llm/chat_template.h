// Chat templates: wrap a prompt the way an instruction-tuned model was trained
// to see it. Built in, not interpreted from Jinja: Llama 3.1+ and ChatML
// (Qwen2/Qwen3), each rendering exactly what the model's own Jinja template
// renders for one optional system message and one user message with
// add_generation_prompt. The result starts after BOS (the runtime adds it).
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "llm/tokenizer.h"

namespace lorashare {

enum class ChatTemplateKind { kNone, kLlama3, kChatMl };

// kNone returns the user prompt unchanged.
std::string ApplyChatTemplate(ChatTemplateKind kind, std::string_view system_prompt,
                              std::string_view user_prompt);

// The template a tokenizer's special tokens call for: <|start_header_id|> and
// <|eot_id|> mean Llama 3, <|im_start|> and <|im_end|> ChatML, else kNone.
ChatTemplateKind DetectChatTemplate(const Tokenizer& tokenizer);

// "llama3", "chatml" (or "qwen"), "none"; "auto" detects from `tokenizer`.
Result<ChatTemplateKind> ChatTemplateFromName(std::string_view name, const Tokenizer& tokenizer);

}  // namespace lorashare

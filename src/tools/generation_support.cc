#include "tools/generation_support.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace lorashare::tools {

Result<LoadedModel> LoadModelForGeneration(const std::string& program_path,
                                           const std::vector<std::string>& data_paths,
                                           const ModelOptions& options, int32_t session_tokens,
                                           const Tokenizer& tokenizer) {
  auto start = std::chrono::steady_clock::now();
  LoadedModel loaded;
  loaded.program_path = program_path;
  LS_ASSIGN_OR_RETURN(loaded.model, Model::Load(program_path, data_paths, options));
  const ModelConfig& config = loaded.model->spec().model;
  if (tokenizer.vocab_size() > config.vocab_size) {
    return MakeError(ErrorCode::kMismatch,
                     "{}: the tokenizer has {} tokens but the model's vocabulary has {}: "
                     "tokenizer and model do not belong together",
                     program_path, tokenizer.vocab_size(), config.vocab_size);
  }
  int32_t tokens = std::min(config.max_context, session_tokens);
  LS_ASSIGN_OR_RETURN(loaded.session, loaded.model->NewSession(tokens));
  loaded.load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return loaded;
}

CLI::Option* AddKvTypeOption(CLI::App* cmd, DType* kv_type, const std::string& name,
                             const std::string& description) {
  return cmd
      ->add_option_function<std::string>(
          name, [kv_type](const std::string& value) { *kv_type = DTypeFromName(value).value(); },
          description)
      ->check(CLI::IsMember({"f32", "f16", "i8"}))
      ->default_str(std::string(DTypeName(*kv_type)));
}

Result<ChatTemplateKind> ChatTemplateFor(const Tokenizer& tokenizer, std::string_view path) {
  ChatTemplateKind kind = DetectChatTemplate(tokenizer);
  if (kind != ChatTemplateKind::kNone) return kind;
  return MakeError(ErrorCode::kInvalidArgument,
                   "{}: the tokenizer has neither Llama 3 (<|start_header_id|>) nor ChatML "
                   "(<|im_start|>) special tokens, so no chat template applies",
                   path);
}

void TextPrinter::Print(std::string_view text) {
  if (text.empty()) return;
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  at_line_start_ = text.back() == '\n';
}

void TextPrinter::EndLine() {
  if (!at_line_start_) Print("\n");
}

void PrintGenerationStats(std::FILE* out, const GenerationStats& stats) {
  fmt::print(out, "Prompt tokens: {}, generated tokens: {}{}\n", stats.prompt_tokens,
             stats.generated_tokens, stats.stopped_on_eos ? " (stopped on end of sequence)" : "");
  fmt::print(out, "Model load: {:.1f} ms\n", stats.load_ms);
  fmt::print(out, "Time to first token: {:.1f} ms\n", stats.time_to_first_token_ms);
  fmt::print(out, "Prefill: {:.1f} ms, {:.2f} tokens/s\n", stats.prefill_ms,
             stats.prefill_tokens_per_s);
  fmt::print(out, "Decode: {:.1f} ms, {:.2f} tokens/s\n", stats.decode_ms,
             stats.decode_tokens_per_s);
}

}  // namespace lorashare::tools

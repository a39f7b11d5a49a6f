// lorashare run: generate text from a prompt with one program over its data files.
#include <fmt/format.h>

#include "tools/commands.h"
#include "tools/generation_support.h"
#include "tools/report.h"

namespace lorashare::tools {
namespace {

// KV cache size when --seq-len does not set it: enough for a conversation
// without reserving a long model context (131072 tokens for Llama 3.2).
constexpr int32_t kDefaultSessionTokens = 2048;

struct RunFlags {
  std::string model;
  std::vector<std::string> data;
  std::string tokenizer;
  std::string prompt;
  std::string system;
  bool chat = false;
  GenerationConfig generation;
  int threads = 0;
  bool no_weight_sharing = false;
  DType kv_type = DType::kF32;
  bool quiet = false;
};

Result<std::string> PromptText(const RunFlags& flags, const Tokenizer& tokenizer) {
  if (!flags.chat) return flags.prompt;
  LS_ASSIGN_OR_RETURN(ChatTemplateKind kind, ChatTemplateFor(tokenizer, flags.tokenizer));
  return ApplyChatTemplate(kind, flags.system, flags.prompt);
}

Status Run(const RunFlags& flags) {
  LS_ASSIGN_OR_RETURN(auto tokenizer, Tokenizer::Load(flags.tokenizer));
  LS_ASSIGN_OR_RETURN(std::string prompt, PromptText(flags, *tokenizer));
  ModelOptions options{.share_weights = !flags.no_weight_sharing,
                       .threads = flags.threads,
                       .kv_type = flags.kv_type};
  int32_t session_tokens =
      flags.generation.seq_len > 0 ? flags.generation.seq_len : kDefaultSessionTokens;
  LS_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelForGeneration(flags.model, flags.data, options,
                                                                 session_tokens, *tokenizer));
  TokenizerFacts facts = ChooseTokenizerFacts(loaded.model->spec().tokenizer, *tokenizer);
  TextPrinter printer;
  LS_ASSIGN_OR_RETURN(GenerationStats stats, Generate(*loaded.session, *tokenizer, facts, prompt,
                                                      flags.generation, printer.callback()));
  printer.EndLine();
  stats.load_ms = loaded.load_ms;
  if (!flags.quiet) PrintGenerationStats(stderr, stats);
  return OkStatus();
}

}  // namespace

void RegisterRun(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("run", "Generate text from a prompt with one program");
  auto flags = std::make_shared<RunFlags>();
  cmd->add_option("--model", flags->model, "program (.pte)")->required();
  cmd->add_option("--data", flags->data,
                  "data files (.ptd) the program needs, comma-separated: foundation[,adapter]")
      ->required()
      ->delimiter(',');
  cmd->add_option("--tokenizer", flags->tokenizer,
                  "tokenizer.model (tiktoken or SentencePiece), tokenizer.json or its directory")
      ->required();
  cmd->add_option("--prompt", flags->prompt, "text to continue")->required();
  cmd->add_flag("--chat", flags->chat, "wrap the prompt in the model's chat template");
  cmd->add_option("--system", flags->system, "system message for --chat");
  cmd->add_option("--seq-len", flags->generation.seq_len,
                  "prompt + generated tokens at most; also the KV cache size (default: the "
                  "model's context, at most 2048)");
  cmd->add_option("--max-new-tokens", flags->generation.max_new_tokens,
                  "generated tokens at most (default: until the end of the context)");
  cmd->add_option("--temperature", flags->generation.temperature, "0 = greedy")
      ->capture_default_str();
  cmd->add_option("--top-p", flags->generation.top_p, "nucleus sampling threshold in (0, 1]")
      ->capture_default_str();
  cmd->add_option("--seed", flags->generation.seed, "random seed for sampling")
      ->capture_default_str();
  cmd->add_flag("--echo", flags->generation.echo, "print the prompt before the generated text");
  cmd->add_option("--threads", flags->threads, "worker threads (0 = one per core)")
      ->capture_default_str();
  AddKvTypeOption(cmd, &flags->kv_type);
  cmd->add_flag("--no-weight-sharing", flags->no_weight_sharing,
                "give this model private copies of the foundation weights");
  cmd->add_flag("--quiet", flags->quiet, "do not print stats to stderr");
  cmd->callback([flags, exit_code] {
    Status status = Run(*flags);
    *exit_code = status.ok() ? 0 : ReportError(status.error());
  });
}

}  // namespace lorashare::tools

// lorashare demo: the ExecuTorch LoRA demo as a command. Generates with a
// first model (the base), then loads a second (the LoRA model) while the
// first stays loaded, printing RSS after each step as the reference runner
// does, and closes with what the second model cost against what it owns.
// Accepts the reference demo's flag names.
#include <fmt/format.h>

#include <filesystem>

#include "base/memory_stats.h"
#include "tools/commands.h"
#include "tools/generation_support.h"
#include "tools/report.h"

namespace lorashare::tools {
namespace {

struct DemoFlags {
  std::string first_model;
  std::string second_model;
  std::string foundation_weights;
  std::string lora_weights;
  std::vector<std::string> first_data;   // overrides foundation_weights
  std::vector<std::string> second_data;  // overrides foundation + lora weights
  std::string tokenizer;
  std::string prompt = "The answer to the ultimate question is";
  bool chat = false;
  GenerationConfig generation{.seq_len = 128};
  int threads = 0;
  bool no_weight_sharing = false;
  DType kv_type = DType::kF32;
};

// The reference's Llama 3 system message (its Qwen3 template has none).
std::string_view SystemMessageFor(ChatTemplateKind kind) {
  return kind == ChatTemplateKind::kLlama3 ? "You are a helpful assistant." : "";
}

Result<std::string> PromptText(const DemoFlags& flags, const Tokenizer& tokenizer) {
  if (!flags.chat) return flags.prompt;
  LS_ASSIGN_OR_RETURN(ChatTemplateKind kind, ChatTemplateFor(tokenizer, flags.tokenizer));
  return ApplyChatTemplate(kind, SystemMessageFor(kind), flags.prompt);
}

std::vector<std::string> FirstData(const DemoFlags& flags) {
  if (!flags.first_data.empty()) return flags.first_data;
  return {flags.foundation_weights};
}

std::vector<std::string> SecondData(const DemoFlags& flags) {
  if (!flags.second_data.empty()) return flags.second_data;
  std::vector<std::string> data = {flags.foundation_weights};
  if (!flags.lora_weights.empty()) data.push_back(flags.lora_weights);
  return data;
}

Status CheckFlags(const DemoFlags& flags) {
  bool has_foundation = !flags.foundation_weights.empty();
  if (!has_foundation && (flags.first_data.empty() || flags.second_data.empty())) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--foundation_weights_path is required (or both --weights1 and --weights2)");
  }
  return OkStatus();
}

// Bytes of the data files both models use: the shared foundation.
uint64_t SharedDataBytes(const std::vector<std::string>& first,
                         const std::vector<std::string>& second) {
  namespace fs = std::filesystem;
  uint64_t bytes = 0;
  for (const std::string& a : first) {
    for (const std::string& b : second) {
      std::error_code error;
      if (fs::equivalent(a, b, error)) bytes += fs::file_size(a, error);
    }
  }
  return bytes;
}

Result<MemoryStats> PrintRss(std::string_view when) {
  LS_ASSIGN_OR_RETURN(MemoryStats stats, ReadMemoryStats());
  fmt::print("RSS after {}: {} MiB (peak {} MiB)\n", when, FormatMiB(stats.rss_bytes),
             FormatMiB(stats.peak_rss_bytes));
  std::fflush(stdout);
  return stats;
}

struct ModelRun {
  LoadedModel loaded;
  MemoryStats before_load;
  MemoryStats after_load;
  MemoryStats after_generation;
};

// Loads a model (the earlier ones stay loaded) and generates with it.
Result<ModelRun> LoadAndGenerate(const std::string& program, const std::vector<std::string>& data,
                                 const DemoFlags& flags, const Tokenizer& tokenizer,
                                 std::string_view prompt) {
  ModelRun run;
  LS_ASSIGN_OR_RETURN(run.before_load, ReadMemoryStats());
  fmt::print("Loading {} with {}\n", program, fmt::join(data, ","));
  ModelOptions options{.share_weights = !flags.no_weight_sharing,
                       .threads = flags.threads,
                       .kv_type = flags.kv_type};
  LS_ASSIGN_OR_RETURN(run.loaded, LoadModelForGeneration(program, data, options,
                                                         flags.generation.seq_len, tokenizer));
  LS_ASSIGN_OR_RETURN(run.after_load, PrintRss("loading model"));
  TokenizerFacts facts = ChooseTokenizerFacts(run.loaded.model->spec().tokenizer, tokenizer);
  TextPrinter printer;
  Status rss_status;
  auto on_phase = [&](GenerationPhase phase) {
    printer.EndLine();
    auto stats = PrintRss(phase == GenerationPhase::kPrefilled ? "prompt prefill"
                                                               : "finishing text generation");
    if (!stats.ok()) {
      rss_status = stats.error();
    } else if (phase == GenerationPhase::kFinished) {
      run.after_generation = *stats;
    }
  };
  LS_ASSIGN_OR_RETURN(GenerationStats stats,
                      Generate(*run.loaded.session, tokenizer, facts, prompt, flags.generation,
                               printer.callback(), on_phase));
  LS_RETURN_IF_ERROR(rss_status);
  stats.load_ms = run.loaded.load_ms;
  PrintGenerationStats(stdout, stats);
  fmt::print("\n");
  return run;
}

void PrintSummary(const ModelRun& first, const ModelRun& second, const DemoFlags& flags,
                  const MemoryStats& end) {
  const Model& model = *second.loaded.model;
  int32_t tokens = second.loaded.session->capacity();
  uint64_t adapter = model.adapter_bytes();
  uint64_t kv = model.KvCacheBytes(tokens);
  uint64_t first_kv = first.loaded.model->KvCacheBytes(first.loaded.session->capacity());
  int64_t increase = static_cast<int64_t>(second.after_load.rss_bytes) -
                     static_cast<int64_t>(second.before_load.rss_bytes);
  // Pages of a mapped adapter become resident when first used, in prefill.
  int64_t generation_increase = static_cast<int64_t>(second.after_generation.rss_bytes) -
                                static_cast<int64_t>(second.before_load.rss_bytes);
  uint64_t foundation = SharedDataBytes(FirstData(flags), SecondData(flags));
  fmt::print("Summary (weight sharing {}):\n", flags.no_weight_sharing ? "off" : "on");
  fmt::print("  second model: {}\n", second.loaded.program_path);
  fmt::print("  second model RSS increase after loading: {:.6f} MiB\n", increase / kMiB);
  fmt::print("  second model RSS increase by the end of its generation: {:.6f} MiB\n",
             generation_increase / kMiB);
  fmt::print("  second model adapter bytes: {} MiB\n", FormatMiB(adapter));
  fmt::print("  second model KV cache bytes: {} MiB ({} tokens)\n", FormatMiB(kv), tokens);
  fmt::print("  adapter + KV cache: {} MiB\n", FormatMiB(adapter + kv));
  fmt::print("  shared foundation data: {} MiB\n", FormatMiB(foundation));
  fmt::print("  peak RSS of the demo: {} MiB\n", FormatMiB(end.peak_rss_bytes));
  fmt::print("  foundation + adapters + both KV caches: {} MiB\n",
             FormatMiB(foundation + adapter + first.loaded.model->adapter_bytes() + kv + first_kv));
  auto pss = ReadPssBytes();
  if (pss.ok()) fmt::print("  PSS now: {} MiB\n", FormatMiB(*pss));
}

Status Demo(const DemoFlags& flags) {
  LS_RETURN_IF_ERROR(CheckFlags(flags));
  LS_ASSIGN_OR_RETURN(auto tokenizer, Tokenizer::Load(flags.tokenizer));
  LS_ASSIGN_OR_RETURN(std::string prompt, PromptText(flags, *tokenizer));
  LS_ASSIGN_OR_RETURN(ModelRun first, LoadAndGenerate(flags.first_model, FirstData(flags), flags,
                                                      *tokenizer, prompt));
  LS_ASSIGN_OR_RETURN(ModelRun second, LoadAndGenerate(flags.second_model, SecondData(flags), flags,
                                                       *tokenizer, prompt));
  LS_ASSIGN_OR_RETURN(MemoryStats end, ReadMemoryStats());
  PrintSummary(first, second, flags, end);
  return OkStatus();
}

}  // namespace

void RegisterDemo(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "demo",
      "Generate with a base model, then with a LoRA model loaded beside it, printing RSS "
      "(the ExecuTorch LoRA demo; accepts its flag names)");
  auto flags = std::make_shared<DemoFlags>();
  cmd->add_option("--llama_model_path,--model1", flags->first_model,
                  "first program (.pte), e.g. the base model")
      ->required();
  cmd->add_option("--lora_model_path,--model2", flags->second_model,
                  "second program (.pte), e.g. the LoRA model, loaded while the first stays")
      ->required();
  cmd->add_option("--foundation_weights_path", flags->foundation_weights,
                  "foundation weights (.ptd) both programs use");
  cmd->add_option("--lora_weights_path", flags->lora_weights,
                  "the second program's adapter weights (.ptd), when not inline");
  cmd->add_option("--weights1", flags->first_data,
                  "the first program's data files, comma-separated (instead of the above)")
      ->delimiter(',');
  cmd->add_option("--weights2", flags->second_data,
                  "the second program's data files, comma-separated (instead of the above)")
      ->delimiter(',');
  cmd->add_option("--tokenizer_path", flags->tokenizer, "tokenizer file")->required();
  cmd->add_option("--prompt", flags->prompt, "prompt")->capture_default_str();
  cmd->add_option("--seq_len", flags->generation.seq_len,
                  "prompt + generated tokens; also each model's KV cache size")
      ->capture_default_str();
  cmd->add_option("--max_new_tokens", flags->generation.max_new_tokens,
                  "generated tokens at most (default: up to --seq_len)");
  cmd->add_option("--temperature", flags->generation.temperature, "0 = greedy")
      ->capture_default_str();
  cmd->add_option("--top_p", flags->generation.top_p, "nucleus sampling threshold in (0, 1]")
      ->capture_default_str();
  cmd->add_option("--seed", flags->generation.seed, "random seed for sampling")
      ->capture_default_str();
  cmd->add_flag("--apply_chat_template,--chat", flags->chat,
                "wrap the prompt in the tokenizer's chat template");
  cmd->add_option("--threads", flags->threads, "worker threads (0 = one per core)")
      ->capture_default_str();
  AddKvTypeOption(cmd, &flags->kv_type);
  cmd->add_flag("--no-weight-sharing,--no_weight_sharing", flags->no_weight_sharing,
                "give each model private copies of the foundation weights");
  cmd->callback([flags, exit_code] {
    Status status = Demo(*flags);
    *exit_code = status.ok() ? 0 : ReportError(status.error());
  });
}

}  // namespace lorashare::tools

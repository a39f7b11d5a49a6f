// lorashare export: checkpoint (+ LoRA adapter) -> .pte program over a shared .ptd.
#include <fmt/format.h>

#include <optional>

#include "export/exporter.h"
#include "llm/tokenizer.h"
#include "tools/commands.h"
#include "tools/report.h"

namespace lorashare::tools {
namespace {

Result<TokenizerFacts> TokenizerFactsOf(const std::string& path) {
  LS_ASSIGN_OR_RETURN(auto tokenizer, Tokenizer::Load(path));
  return FactsOf(*tokenizer);
}

double MiB(uint64_t bytes) { return static_cast<double>(bytes) / kMiB; }

struct ExportFlags {
  ExportOptions options;
  std::string quantize = "f32";
  std::optional<int64_t> group_size;
  std::optional<std::string> embedding_quantize;
  std::string lora_dtype = "f32";
  bool quiet = false;
};

int RunExport(ExportFlags flags) {
  auto scheme = ParseQuantizationScheme(flags.quantize, flags.group_size, flags.embedding_quantize,
                                        flags.lora_dtype);
  if (!scheme.ok()) return ReportError(scheme.error());
  ExportOptions& options = flags.options;
  options.scheme = *scheme;
  options.show_progress = !flags.quiet;
  options.tokenizer_facts = TokenizerFactsOf;
  auto report = ExportProgram(options);
  if (!report.ok()) return ReportError(report.error());
  if (!flags.quiet) {
    fmt::print("{}: {} bytes ({:.3f} MiB)\n", options.output, report->program_bytes,
               MiB(report->program_bytes));
    fmt::print("{}: {} bytes ({:.3f} MiB), {} tensors, fingerprint {}\n",
               options.foundation_weights, report->foundation_bytes, MiB(report->foundation_bytes),
               report->foundation_tensors, report->foundation_fingerprint);
    fmt::print("  {}\n", report->weights);
    for (const auto& [format, bytes] : report->foundation_bytes_by_format) {
      fmt::print("  {:<6} {:>14} bytes ({:.3f} MiB)\n", format, bytes, MiB(bytes));
    }
    if (report->adapter_tensor_bytes > 0) {
      fmt::print("adapter tensors: {} bytes ({:.3f} MiB){}\n", report->adapter_tensor_bytes,
                 MiB(report->adapter_tensor_bytes),
                 options.adapter_weights.empty() ? " inline in the program"
                                                 : " in " + options.adapter_weights);
    }
  }
  return 0;
}

}  // namespace

void RegisterExport(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "export", "Export a checkpoint (and a LoRA adapter) as a .pte over a shared .ptd");
  auto flags = std::make_shared<ExportFlags>();
  cmd->add_option("--checkpoint", flags->options.checkpoint_dir,
                  "Hugging Face directory (config.json + safetensors) or Meta directory "
                  "(params.json + consolidated.00.pth)")
      ->required();
  cmd->add_option("--adapter", flags->options.adapter_path,
                  "LoRA adapter: PEFT directory, or adapter_model.{safetensors,pt} with "
                  "adapter_config.json beside it");
  cmd->add_option("--output", flags->options.output, "program file to write (.pte)")->required();
  cmd->add_option("--foundation-weights", flags->options.foundation_weights,
                  "shared foundation data file to write (.ptd)")
      ->required();
  cmd->add_option("--adapter-weights", flags->options.adapter_weights,
                  "write the adapter tensors to this .ptd instead of inline in the program");
  cmd->add_option("--quantize,--dtype", flags->quantize,
                  "weight storage: 8da4w (int4 grouped linear weights for int8 dynamic "
                  "activations), int8 (per-channel), or plain bf16, f16, f32; norms stay f32")
      ->capture_default_str();
  cmd->add_option("--group-size", flags->group_size,
                  "8da4w: columns per int4 scale, 32 (default), 64 or 128");
  cmd->add_option("--embedding-quantize", flags->embedding_quantize,
                  "embedding table: 8,0 (int8 per row), 4,32 / 4,64 / 4,128 (int4 grouped) or "
                  "none; default 8,0 for int8 and 8da4w, the weight type otherwise");
  cmd->add_option("--lora-dtype", flags->lora_dtype, "LoRA A/B storage: f32 or bf16")
      ->capture_default_str();
  cmd->add_flag("--quiet,-q", flags->quiet, "no progress bar or summary");
  cmd->callback([flags, exit_code] { *exit_code = RunExport(*flags); });
}

}  // namespace lorashare::tools

// lorashare export: checkpoint (+ LoRA adapter) -> .pte program over a shared .ptd.
#include <fmt/format.h>

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

double MiB(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

int RunExport(ExportOptions options, const std::string& dtype_name, bool quiet) {
  auto dtype = DTypeFromName(dtype_name);
  if (!dtype || (*dtype != DType::kF32 && *dtype != DType::kBF16 && *dtype != DType::kF16)) {
    return ReportError(MakeError(ErrorCode::kInvalidArgument,
                                 "--dtype must be f32, bf16 or f16, got '{}'", dtype_name));
  }
  options.dtype = *dtype;
  options.show_progress = !quiet;
  options.tokenizer_facts = TokenizerFactsOf;
  auto report = ExportProgram(options);
  if (!report.ok()) return ReportError(report.error());
  if (!quiet) {
    fmt::print("{}: {} bytes ({:.3f} MiB)\n", options.output, report->program_bytes,
               MiB(report->program_bytes));
    fmt::print("{}: {} bytes ({:.3f} MiB), {} tensors, fingerprint {}\n",
               options.foundation_weights, report->foundation_bytes, MiB(report->foundation_bytes),
               report->foundation_tensors, report->foundation_fingerprint);
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
  struct Flags {
    ExportOptions options;
    std::string dtype = "f32";
    bool quiet = false;
  };
  auto flags = std::make_shared<Flags>();
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
  cmd->add_option("--dtype", flags->dtype, "weight matrix type: f32, bf16 or f16")
      ->capture_default_str();
  cmd->add_flag("--quiet,-q", flags->quiet, "no progress bar or summary");
  cmd->callback(
      [flags, exit_code] { *exit_code = RunExport(flags->options, flags->dtype, flags->quiet); });
}

}  // namespace lorashare::tools

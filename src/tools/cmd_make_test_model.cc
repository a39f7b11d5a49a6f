// lorashare make-test-model: synthetic checkpoints in the real file formats.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "testmodel/presets.h"
#include "testmodel/test_model.h"
#include "tools/commands.h"
#include "tools/report.h"

namespace lorashare::tools {
namespace {

int RunMakeTestModel(TestModelOptions options, const std::string& dtype_name,
                     const std::string& gguf_type_name, bool quiet) {
  auto dtype = DTypeFromName(dtype_name);
  if (!dtype) {
    return ReportError(MakeError(ErrorCode::kInvalidArgument,
                                 "--dtype must be f32, bf16 or f16, got '{}'", dtype_name));
  }
  options.dtype = *dtype;
  auto gguf_type = GgmlTypeFromName(gguf_type_name);
  if (!gguf_type) {
    return ReportError(MakeError(ErrorCode::kInvalidArgument,
                                 "--gguf-type must be f32, f16, q8_0 or q4_0, got '{}'",
                                 gguf_type_name));
  }
  options.gguf_type = *gguf_type;
  auto report = MakeTestModel(options);
  if (!report.ok()) return ReportError(report.error());
  if (!quiet) {
    const std::string& written = options.out_dir.empty() ? options.gguf_path : options.out_dir;
    fmt::print("{}: {} model, {} parameters, {} weight bytes\n", written, options.preset,
               report->parameters, report->weight_bytes);
    if (!options.lora_out_dir.empty()) {
      fmt::print("{}: {} adapter, {} parameters\n", options.lora_out_dir, options.adapter_preset,
                 report->adapter_parameters);
    }
  }
  return 0;
}

}  // namespace

void RegisterMakeTestModel(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "make-test-model",
      "Write a deterministic synthetic model (and LoRA adapter) in real formats");
  struct Flags {
    TestModelOptions options;
    std::string dtype = "f32";
    std::string gguf_type = "f32";
    bool quiet = false;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("--preset", flags->options.preset,
                  fmt::format("model shape: {}", fmt::join(ModelPresetNames(), ", ")))
      ->capture_default_str()
      ->check(CLI::IsMember(ModelPresetNames()));
  cmd->add_option("--out", flags->options.out_dir,
                  "Hugging Face directory to write (may be left out when --gguf is given)");
  cmd->add_option("--lora-out", flags->options.lora_out_dir, "PEFT adapter directory to write");
  cmd->add_option("--lora-preset", flags->options.adapter_preset,
                  fmt::format("adapter: {}", fmt::join(AdapterPresetNames(), ", ")))
      ->capture_default_str()
      ->check(CLI::IsMember(AdapterPresetNames()));
  cmd->add_option("--seed", flags->options.seed, "random seed")->capture_default_str();
  cmd->add_option("--dtype", flags->dtype, "stored weight type: f32, bf16 or f16")
      ->capture_default_str();
  cmd->add_option("--meta-out", flags->options.meta_out_dir,
                  "also write the model in Meta's layout (params.json, consolidated.00.pth) and "
                  "the adapter as torchtune's adapter_model.pt, as the reference demo's inputs");
  cmd->add_option("--gguf", flags->options.gguf_path,
                  "also write the base model as a llama.cpp GGUF file");
  cmd->add_option("--gguf-type", flags->gguf_type,
                  "matrix type of the --gguf file: f32, f16, q8_0 or q4_0 (llama.cpp's blocks; "
                  "at q4_0 the output layer is q8_0)")
      ->capture_default_str();
  cmd->add_option("--lora-gguf", flags->options.lora_gguf_path,
                  "also write the adapter as a llama.cpp GGUF LoRA file");
  cmd->add_flag("--quiet,-q", flags->quiet, "print nothing on success");
  cmd->callback([flags, exit_code] {
    *exit_code = RunMakeTestModel(flags->options, flags->dtype, flags->gguf_type, flags->quiet);
  });
}

}  // namespace lorashare::tools

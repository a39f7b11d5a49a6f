// lorashare quality: how far a program's outputs are from a reference
// program's (typically a quantized export against the f32 one of the same
// checkpoint), on one deterministic prompt of token ids:
// - the reference decodes greedily for --steps tokens from the prompt,
//   recording its logits at every step;
// - the program is teacher-forced on the same token history; per step its
//   logits are compared with the reference's (mean and max absolute error over
//   all steps and vocabulary entries) and its most probable token with the
//   reference's greedy choice (top-1 agreement); for scale, the spread of the
//   reference's logits (their standard deviation over the vocabulary, as a
//   root mean square over the steps);
// - the program then decodes greedily on its own from the prompt: the number
//   of leading tokens identical to the reference's greedy tokens.
// --kv-type sets the measured program's KV cache (the reference's is f32), so
// the same program against itself measures what an f16 or int8 cache costs.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "llm/sampler.h"
#include "runtime/model.h"
#include "runtime/session.h"
#include "tools/commands.h"
#include "tools/generation_support.h"
#include "tools/report.h"

namespace lorashare::tools {
namespace {

struct QualityFlags {
  std::string model;
  std::vector<std::string> data;
  std::string reference;
  std::vector<std::string> reference_data;  // empty: --data
  int32_t prompt_len = 32;
  int32_t steps = 32;
  int threads = 0;
  DType kv_type = DType::kF32;  // of --model's sessions
  bool json = false;
};

struct QualityReport {
  double mean_abs_error = 0;
  double max_abs_error = 0;
  double reference_logit_std = 0;
  int32_t top1_matches = 0;
  int32_t identical_prefix = 0;
};

// Token ids spread over the vocabulary, the same for every run.
std::vector<int32_t> DeterministicPrompt(int32_t length, int32_t vocab_size) {
  std::vector<int32_t> ids(length);
  for (int32_t i = 0; i < length; ++i) {
    ids[i] = static_cast<int32_t>((int64_t{i} * 7919 + 13) % vocab_size);
  }
  return ids;
}

struct GreedyRun {
  std::vector<int32_t> tokens;
  std::vector<std::vector<float>> logits;  // per step, before its token
};

// Prefill `prompt`, then `steps` steps; step i feeds forced[i - 1] when
// `forced` is given and the previous greedy token otherwise.
Result<GreedyRun> Decode(const Model& model, const std::vector<int32_t>& prompt, int32_t steps,
                         const std::vector<int32_t>* forced, bool keep_logits) {
  LS_ASSIGN_OR_RETURN(auto session, model.NewSession(static_cast<int32_t>(prompt.size()) + steps));
  GreedyRun run;
  std::vector<int32_t> input = prompt;
  for (int32_t step = 0; step < steps; ++step) {
    LS_ASSIGN_OR_RETURN(std::span<const float> logits, session->Forward(input));
    run.tokens.push_back(ArgMax(logits));
    if (keep_logits) run.logits.emplace_back(logits.begin(), logits.end());
    input = {forced != nullptr ? (*forced)[step] : run.tokens.back()};
  }
  return run;
}

Result<std::shared_ptr<const Model>> LoadProgram(const std::string& path,
                                                 const std::vector<std::string>& data,
                                                 const ModelOptions& options, int32_t tokens) {
  LS_ASSIGN_OR_RETURN(auto model, Model::Load(path, data, options));
  if (tokens > model->spec().model.max_context) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "{}: --prompt-len + --steps = {} tokens exceed the model's context of {}",
                     path, tokens, model->spec().model.max_context);
  }
  return model;
}

Result<QualityReport> Compare(const QualityFlags& flags) {
  if (flags.prompt_len < 1 || flags.steps < 1) {
    return MakeError(ErrorCode::kInvalidArgument, "--prompt-len and --steps must be positive");
  }
  const int32_t tokens = flags.prompt_len + flags.steps;
  const auto& reference_data = flags.reference_data.empty() ? flags.data : flags.reference_data;
  LS_ASSIGN_OR_RETURN(auto reference, LoadProgram(flags.reference, reference_data,
                                                  {.threads = flags.threads}, tokens));
  LS_ASSIGN_OR_RETURN(auto model,
                      LoadProgram(flags.model, flags.data,
                                  {.threads = flags.threads, .kv_type = flags.kv_type}, tokens));
  const int32_t vocab_size = reference->spec().model.vocab_size;
  if (model->spec().model.vocab_size != vocab_size) {
    return MakeError(ErrorCode::kMismatch, "{} has a vocabulary of {} tokens, {} of {}",
                     flags.model, model->spec().model.vocab_size, flags.reference, vocab_size);
  }
  const std::vector<int32_t> prompt = DeterministicPrompt(flags.prompt_len, vocab_size);

  LS_ASSIGN_OR_RETURN(GreedyRun expected, Decode(*reference, prompt, flags.steps, nullptr, true));
  LS_ASSIGN_OR_RETURN(GreedyRun forced,
                      Decode(*model, prompt, flags.steps, &expected.tokens, true));
  QualityReport report;
  double error_sum = 0;
  double variance_sum = 0;
  for (int32_t step = 0; step < flags.steps; ++step) {
    const std::vector<float>& want = expected.logits[step];
    const std::vector<float>& got = forced.logits[step];
    double sum = 0;
    double square_sum = 0;
    for (int32_t i = 0; i < vocab_size; ++i) {
      const double error = std::fabs(static_cast<double>(got[i]) - want[i]);
      error_sum += error;
      report.max_abs_error = std::max(report.max_abs_error, error);
      sum += want[i];
      square_sum += static_cast<double>(want[i]) * want[i];
    }
    const double mean = sum / vocab_size;
    variance_sum += std::max(0.0, square_sum / vocab_size - mean * mean);
    if (forced.tokens[step] == expected.tokens[step]) ++report.top1_matches;
  }
  report.mean_abs_error = error_sum / (static_cast<double>(flags.steps) * vocab_size);
  report.reference_logit_std = std::sqrt(variance_sum / flags.steps);

  LS_ASSIGN_OR_RETURN(GreedyRun free, Decode(*model, prompt, flags.steps, nullptr, false));
  while (report.identical_prefix < flags.steps &&
         free.tokens[report.identical_prefix] == expected.tokens[report.identical_prefix]) {
    ++report.identical_prefix;
  }
  return report;
}

void Print(const QualityFlags& flags, const QualityReport& report) {
  const double agreement = 100.0 * report.top1_matches / flags.steps;
  if (flags.json) {
    nlohmann::ordered_json json = {{"model", flags.model},
                                   {"reference", flags.reference},
                                   {"prompt_len", flags.prompt_len},
                                   {"steps", flags.steps},
                                   {"kv_type", DTypeName(flags.kv_type)},
                                   {"mean_abs_error", report.mean_abs_error},
                                   {"max_abs_error", report.max_abs_error},
                                   {"reference_logit_std", report.reference_logit_std},
                                   {"top1_matches", report.top1_matches},
                                   {"top1_agreement", agreement / 100},
                                   {"identical_greedy_tokens", report.identical_prefix}};
    fmt::print("{}\n", json.dump());
    return;
  }
  fmt::print("{} ({} KV cache) against {}: prompt of {} tokens, {} steps\n", flags.model,
             DTypeName(flags.kv_type), flags.reference, flags.prompt_len, flags.steps);
  fmt::print("  logits: mean |error| {:.6g}, max |error| {:.6g} (reference logits: std {:.6g})\n",
             report.mean_abs_error, report.max_abs_error, report.reference_logit_std);
  fmt::print("  top-1 agreement (teacher-forced): {}/{} ({:.1f}%)\n", report.top1_matches,
             flags.steps, agreement);
  fmt::print("  identical greedy tokens, each decoding on its own: {} of {}\n",
             report.identical_prefix, flags.steps);
}

}  // namespace

void RegisterQuality(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "quality", "Compare a program's logits and greedy tokens with a reference program's");
  auto flags = std::make_shared<QualityFlags>();
  cmd->add_option("--model", flags->model, "program to measure (.pte)")->required();
  cmd->add_option("--reference", flags->reference, "reference program (.pte), e.g. the f32 export")
      ->required();
  cmd->add_option("--data", flags->data,
                  "data files (.ptd) of --model, comma-separated: foundation[,adapter]")
      ->required()
      ->delimiter(',');
  cmd->add_option("--reference-data", flags->reference_data,
                  "data files of --reference, comma-separated (default: --data)")
      ->delimiter(',');
  cmd->add_option("--prompt-len", flags->prompt_len, "prompt tokens (deterministic ids)")
      ->capture_default_str();
  cmd->add_option("--steps", flags->steps, "greedy steps compared")->capture_default_str();
  cmd->add_option("--threads", flags->threads, "worker threads (0 = one per core)")
      ->capture_default_str();
  AddKvTypeOption(cmd, &flags->kv_type);
  cmd->add_flag("--json", flags->json, "print one JSON object");
  cmd->callback([flags, exit_code] {
    auto report = Compare(*flags);
    if (!report.ok()) {
      *exit_code = ReportError(report.error());
      return;
    }
    Print(*flags, *report);
    *exit_code = 0;
  });
}

}  // namespace lorashare::tools

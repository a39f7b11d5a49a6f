#include "tools/paired_decode.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "llm/sampler.h"
#include "runtime/session.h"

namespace lorashare::tools {
namespace {

// Long enough that a block's time dwarfs the timer, short enough that the
// bandwidth rarely changes within a pair of blocks (8 tokens of the 1B shape
// take about 0.1 s).
constexpr int32_t kBlockTokens = 8;

// One program's session and the token it decodes next.
struct Decoder {
  std::shared_ptr<const Model> model;
  std::unique_ptr<Session> session;
  int32_t token = 0;

  Status Prefill(std::span<const int32_t> prompt) {
    session->Reset();
    LS_ASSIGN_OR_RETURN(std::span<const float> logits, session->Forward(prompt));
    token = ArgMax(logits);
    return OkStatus();
  }

  // Decodes `count` greedy tokens; returns tokens per second.
  Result<double> Decode(int32_t count) {
    const auto start = std::chrono::steady_clock::now();
    for (int32_t i = 0; i < count; ++i) {
      LS_ASSIGN_OR_RETURN(std::span<const float> logits, session->Forward({&token, 1}));
      token = ArgMax(logits);
    }
    const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
    return count / seconds.count();
  }
};

Result<Decoder> Open(const std::string& program, const std::vector<std::string>& data,
                     const ModelOptions& model_options, const PairedDecodeOptions& options) {
  Decoder decoder;
  LS_ASSIGN_OR_RETURN(decoder.model, Model::Load(program, data, model_options));
  const int32_t positions = static_cast<int32_t>(options.prompt.size()) + options.gen;
  LS_ASSIGN_OR_RETURN(decoder.session, decoder.model->NewSession(positions));
  return decoder;
}

}  // namespace

Result<PairedDecodeResult> RunPairedDecode(const PairedDecodeOptions& options) {
  LS_ASSIGN_OR_RETURN(Decoder model,
                      Open(options.model, options.model_data, options.options, options));
  LS_ASSIGN_OR_RETURN(Decoder baseline, Open(options.baseline, options.baseline_data,
                                             options.baseline_options, options));
  PairedDecodeResult result;
  result.block_tokens = kBlockTokens;
  bool model_first = true;
  for (int round = 0; round < options.rounds; ++round) {
    LS_RETURN_IF_ERROR(model.Prefill(options.prompt));
    LS_RETURN_IF_ERROR(baseline.Prefill(options.prompt));
    for (int32_t done = 0; done < options.gen; done += kBlockTokens) {
      const int32_t count = std::min(kBlockTokens, options.gen - done);
      double model_rate = 0, baseline_rate = 0;
      // Alternating the order cancels what going first or second costs.
      if (model_first) {
        LS_ASSIGN_OR_RETURN(model_rate, model.Decode(count));
        LS_ASSIGN_OR_RETURN(baseline_rate, baseline.Decode(count));
      } else {
        LS_ASSIGN_OR_RETURN(baseline_rate, baseline.Decode(count));
        LS_ASSIGN_OR_RETURN(model_rate, model.Decode(count));
      }
      model_first = !model_first;
      result.model_tok_s.push_back(model_rate);
      result.baseline_tok_s.push_back(baseline_rate);
      result.ratios.push_back(model_rate / baseline_rate);
    }
  }
  return result;
}

}  // namespace lorashare::tools

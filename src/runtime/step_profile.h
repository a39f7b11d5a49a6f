// StepProfile: where a session's forward passes spent their time, by kind of
// step (`lorashare bench --profile`). Decode is memory-bound, so a kind's
// weight bytes over its time says how close each kernel streams to the
// machine's bandwidth, and which one to look at.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lorashare {

class LoadedModel;

struct StepProfile {
  struct Kind {
    // The op and what it reads, with layer numbers dropped: "rms_norm
    // attention_norm", "linear attention.wq+wk+wv" (LINEARs of one input run
    // as one pass), "linear feed_forward.w2 +lora" (with its folded LoRA),
    // "attention".
    std::string name;
    int32_t instructions = 0;   // per pass, counting those run with others
    uint64_t weight_bytes = 0;  // per pass of one token (DecodeWeightBytes)
    double seconds = 0;         // over all profiled passes
  };
  int64_t passes = 0;
  std::vector<Kind> kinds;  // in the order a pass first runs them

  double seconds() const;
  // Adds another profile of the same program's passes (its kinds by name).
  void Add(const StepProfile& other);
};

// The runtime's side: `step_seconds[i]` is the time spent in the model's
// step i over `passes` passes; steps that run with another (same-input
// LINEARs, folded LORAs) count with it.
StepProfile SummarizeStepTimes(const LoadedModel& model, std::span<const double> step_seconds,
                               int64_t passes);

}  // namespace lorashare

// Executor: runs a loaded model's bound instructions for one batch of tokens
// over a session's buffers. Prefill passes every prompt token at once (the
// matmuls become GEMMs); decode passes one token (GEMVs). The model's plan has
// checked every instruction, so nothing here can fail.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "hwy/aligned_allocator.h"
#include "kernels/lora.h"
#include "runtime/loaded_model.h"

namespace lorashare {

// What a session owns: scratch slots (sized by the plan for the largest batch
// so far), one KV cache per ATTENTION instruction, LoRA scratch, and the RoPE
// angles of the current batch's positions (one table per model rope,
// computed once per pass and read by every layer). Slots and LoRA scratch
// are vector-aligned and left uninitialized: every pass writes a value
// before reading it, and zeroing a prefill's slots took 3% of its time.
// Slots are made resident when they are allocated (base/prefault.h): a pass
// writes all of them, and faulting them in page by page costs more.
struct SessionBuffers {
  std::vector<hwy::AlignedFreeUniquePtr<float[]>> slots;
  // One per ATTENTION instruction, in the model's kv_type, laid out as
  // kernels/attention.h says; made resident a key block ahead of its writes.
  std::vector<std::unique_ptr<uint8_t[]>> k_cache, v_cache;
  int64_t kv_capacity = 0;
  hwy::AlignedFreeUniquePtr<float[]> lora_scratch;
  std::vector<std::vector<float>> rope_cos, rope_sin;  // [rows, head_dim / 2]
  int64_t rows = 0;                                    // batch size the slots hold
  // While profiling: the time of each step (seconds, indexed like the model's
  // steps) summed over profiled_passes passes; empty when not profiling.
  std::vector<double> step_seconds;
  int64_t profiled_passes = 0;
};

class Executor {
 public:
  Executor(const LoadedModel& model, SessionBuffers& buffers)
      : model_(model), plan_(model.plan()), buffers_(buffers) {}

  // Runs `tokens` (valid ids, fitting the cache) at positions starting at
  // `position`; returns the output value's last row.
  std::span<const float> Run(std::span<const int32_t> tokens, int32_t position);

 private:
  float* Value(int32_t value) { return buffers_.slots[plan_.values[value].slot].get(); }
  int64_t Rows(int32_t value) const { return plan_.values[value].one_row ? 1 : n_; }
  int64_t Width(int32_t value) const { return plan_.values[value].width; }
  void ComputeRopeAngles();
  void RunStepsTimed(std::span<const int32_t> tokens);  // adds to buffers_.step_seconds
  void RunStep(const LoadedModel::Step& step, std::span<const int32_t> tokens);
  // fn(begin, end) over rows [0, rows) of a row-wise step. A decode step's
  // row is a few microseconds of work, less than a pass on the pool costs; a
  // prompt's rows are split over it. (The embedding rows of a fresh load are
  // mostly page faults on the table, which two threads take in parallel: 3.0
  // to 1.7-1.9 ms for 128 tokens of the 1B table.)
  template <class Fn>
  void ForRows(int64_t rows, const Fn& fn) {
    if (rows == 1) return fn(0, 1);
    ParallelFor(model_.pool(), rows, fn);
  }
  void RunLinear(const LoadedModel::Step& step);
  LoraArgs LoraArgsOf(const LoadedModel::Step& step);
  // The A rows of `step`'s LoRA group, end to end: the sum of its ranks.
  int64_t LoraGroupRows(const LoadedModel::Step& step) const;
  // Rows [begin, end) of them times the input, into the group's scratch.
  void RunLoraDownRows(const LoadedModel::Step& step, LoraArgs args, int64_t begin, int64_t end);
  void RunLora(const LoadedModel::Step& step);
  void RunAttention(const InstructionSpec& ins, int32_t cache);

  const LoadedModel& model_;
  const ExecutionPlan& plan_;
  SessionBuffers& buffers_;
  int64_t n_ = 0;
  int64_t position_ = 0;
};

}  // namespace lorashare

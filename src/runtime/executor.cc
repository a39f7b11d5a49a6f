#include "runtime/executor.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <vector>

#include "base/prefault.h"
#include "kernels/attention.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/lora.h"
#include "kernels/matmul.h"
#include "kernels/norm.h"
#include "kernels/rope.h"

namespace lorashare {
namespace {

// Rows of a LoRA group's A products per prologue unit (MatMulPrologue): a
// whole GEMM panel on AVX-512 (kernels/matmul.cc), which 16 rows half fill.
constexpr int64_t kLoraDownUnitRows = 32;

// Uninitialized floats, vector-aligned (hwy::AllocateAligned refuses none).
hwy::AlignedFreeUniquePtr<float[]> Floats(int64_t count) {
  return hwy::AllocateAligned<float>(static_cast<size_t>(std::max<int64_t>(count, 1)));
}

// Uninitialized floats, vector-aligned and resident.
hwy::AlignedFreeUniquePtr<float[]> ResidentFloats(int64_t count) {
  auto floats = Floats(count);
  PrefaultForWrite(floats.get(), static_cast<size_t>(std::max<int64_t>(count, 1)) * sizeof(float));
  return floats;
}

}  // namespace

std::span<const float> Executor::Run(std::span<const int32_t> tokens, int32_t position) {
  n_ = static_cast<int64_t>(tokens.size());
  position_ = position;
  if (n_ > buffers_.rows) {
    for (size_t s = 0; s < buffers_.slots.size(); ++s) {
      buffers_.slots[s] = ResidentFloats(plan_.slots[s].Floats(n_));
    }
    buffers_.lora_scratch = Floats(plan_.max_lora_rank * n_);
    buffers_.rows = n_;
  }
  ComputeRopeAngles();
  if (buffers_.step_seconds.empty()) {
    for (const LoadedModel::Step& step : model_.steps()) RunStep(step, tokens);
  } else {
    RunStepsTimed(tokens);
  }
  const int32_t out = model_.spec().output_value;
  return {Value(out) + (Rows(out) - 1) * Width(out), static_cast<size_t>(Width(out))};
}

// One clock read per step: about 30 ns here, so 9 us over the 292 steps of a
// 1B decode token of about 14 ms (0.06%).
void Executor::RunStepsTimed(std::span<const int32_t> tokens) {
  using Clock = std::chrono::steady_clock;
  const std::vector<LoadedModel::Step>& steps = model_.steps();
  Clock::time_point start = Clock::now();
  for (size_t i = 0; i < steps.size(); ++i) {
    RunStep(steps[i], tokens);
    const Clock::time_point end = Clock::now();
    buffers_.step_seconds[i] += std::chrono::duration<double>(end - start).count();
    start = end;
  }
  ++buffers_.profiled_passes;
}

void Executor::ComputeRopeAngles() {
  const auto& ropes = model_.ropes();
  buffers_.rope_cos.resize(ropes.size());
  buffers_.rope_sin.resize(ropes.size());
  for (size_t r = 0; r < ropes.size(); ++r) {
    const int64_t half = ropes[r]->head_dim() / 2;
    buffers_.rope_cos[r].resize(n_ * half);
    buffers_.rope_sin[r].resize(n_ * half);
    for (int64_t t = 0; t < n_; ++t) {
      ropes[r]->Angles(position_ + t, buffers_.rope_cos[r].data() + t * half,
                       buffers_.rope_sin[r].data() + t * half);
    }
  }
}

void Executor::RunStep(const LoadedModel::Step& step, std::span<const int32_t> tokens) {
  const InstructionSpec& ins = *step.instruction;
  const int32_t out = ins.outputs[0];
  float* y = Value(out);
  const int64_t rows = Rows(out), width = Width(out);
  switch (ins.op) {
    case OpCode::kEmbedding:
      return ForRows(rows, [&](int64_t begin, int64_t end) {
        Embedding(step.weights[0], tokens.subspan(begin, end - begin), y + begin * width);
      });
    case OpCode::kRmsNorm:
      return ForRows(rows, [&](int64_t begin, int64_t end) {
        RmsNorm({.x = Value(ins.inputs[0]) + begin * width,
                 .y = y + begin * width,
                 .n = end - begin,
                 .width = width,
                 .group = ins.int_args[0],
                 .weight = static_cast<const float*>(step.weights[0].data),
                 .eps = ins.float_args[0]});
      });
    case OpCode::kLinear:
      return RunLinear(step);
    case OpCode::kLora:
      if (!step.folded) RunLora(step);
      return;
    case OpCode::kRope:
      return Rope(*model_.ropes()[step.rope], {.x = y,
                                               .n = rows,
                                               .n_heads = ins.int_args[0],
                                               .start_position = position_,
                                               .cos = buffers_.rope_cos[step.rope].data(),
                                               .sin = buffers_.rope_sin[step.rope].data()});
    case OpCode::kAttention:
      return RunAttention(ins, step.kv_cache);
    case OpCode::kSwiGlu:
      return ForRows(rows, [&](int64_t begin, int64_t end) {
        SwiGlu(Value(ins.inputs[0]) + begin * width, Value(ins.inputs[1]) + begin * width,
               (end - begin) * width, y + begin * width);
      });
    case OpCode::kAdd:
      return ForRows(rows, [&](int64_t begin, int64_t end) {
        Add(Value(ins.inputs[0]) + begin * width, Value(ins.inputs[1]) + begin * width,
            (end - begin) * width, y + begin * width);
      });
    case OpCode::kLastToken:
      std::memmove(y, Value(ins.inputs[0]) + (n_ - 1) * width, width * sizeof(float));
      return;
  }
}

void Executor::RunLinear(const LoadedModel::Step& step) {
  if (step.in_group) return;  // run with the group's first member
  const int32_t alone[] = {static_cast<int32_t>(&step - model_.steps().data())};
  const std::span<const int32_t> members =
      step.same_input.empty() ? std::span<const int32_t>(alone) : step.same_input;
  std::vector<MatMulJob> jobs;
  std::vector<LoraArgs> loras;
  std::vector<std::function<void(int64_t, int64_t)>> add_loras;
  std::optional<MatMulPrologue> lora_down;  // a member's LoRA group's A products
  // rows_done points into add_loras: no reallocation once it is taken.
  loras.reserve(members.size());
  add_loras.reserve(members.size());
  for (int32_t index : members) {
    const LoadedModel::Step& member = model_.steps()[index];
    const InstructionSpec& ins = *member.instruction;
    MatMulJob job{member.weights[0],
                  {.x = Value(ins.inputs[0]),
                   .n = Rows(ins.outputs[0]),
                   .x_stride = Width(ins.inputs[0]),
                   .y = Value(ins.outputs[0]),
                   .y_stride = Width(ins.outputs[0])}};
    if (member.folded_lora >= 0) {
      const LoadedModel::Step& lora = model_.steps()[member.folded_lora];
      const LoraArgs& args = loras.emplace_back(LoraArgsOf(lora));
      if (lora.lora_down) {
        const int64_t units = (LoraGroupRows(lora) + kLoraDownUnitRows - 1) / kLoraDownUnitRows;
        lora_down.emplace(units, [this, &lora, &args](int64_t unit) {
          const int64_t first = unit * kLoraDownUnitRows;
          RunLoraDownRows(lora, args, first,
                          std::min(first + kLoraDownUnitRows, LoraGroupRows(lora)));
        });
      }
      job.args.rows_done = &add_loras.emplace_back([&lora, &args](int64_t begin, int64_t end) {
        LoraUpRows(lora.weights[1], args, begin, end);
      });
    }
    jobs.push_back(job);
  }
  if (lora_down) {
    for (MatMulJob& job : jobs) job.args.prologue = &*lora_down;
  }
  MatMulSameInput(jobs, model_.pool());
}

LoraArgs Executor::LoraArgsOf(const LoadedModel::Step& step) {
  const InstructionSpec& ins = *step.instruction;
  return {.x = Value(ins.inputs[0]),
          .x_stride = Width(ins.inputs[0]),
          .y = Value(ins.outputs[0]),
          .y_stride = Width(ins.outputs[0]),
          .n = Rows(ins.outputs[0]),
          .scale = ins.float_args[0],
          .scratch = buffers_.lora_scratch.get() + step.lora_offset,
          .scratch_stride = step.lora_stride};
}

int64_t Executor::LoraGroupRows(const LoadedModel::Step& step) const {
  return plan_.lora_groups[step.lora_group].rank;
}

void Executor::RunLoraDownRows(const LoadedModel::Step& step, LoraArgs args, int64_t begin,
                               int64_t end) {
  args.scratch -= step.lora_offset;
  LoraDownRows(model_.lora_group_a(step.lora_group), plan_.lora_groups[step.lora_group].offsets,
               args, begin, end);
}

// The group's first member computes every member's x A^T (see LoraGroup);
// each member adds its own B product from its scratch columns.
void Executor::RunLora(const LoadedModel::Step& step) {
  LoraArgs args = LoraArgsOf(step);
  if (step.lora_down) {
    args.scratch -= step.lora_offset;
    LoraDownGroup(model_.lora_group_a(step.lora_group), plan_.lora_groups[step.lora_group].offsets,
                  args, model_.pool());
    args.scratch += step.lora_offset;
  }
  LoraUp(step.weights[1], args, model_.pool());
}

void Executor::RunAttention(const InstructionSpec& ins, int32_t cache) {
  const AttentionArgs args{.q = Value(ins.inputs[0]),
                           .k_cache = buffers_.k_cache[cache].get(),
                           .v_cache = buffers_.v_cache[cache].get(),
                           .kv_dtype = model_.kv_type(),
                           .out = Value(ins.outputs[0]),
                           .n = n_,
                           .start_position = position_,
                           .n_heads = ins.int_args[1],
                           .n_kv_heads = ins.int_args[2],
                           .head_dim = ins.int_args[3],
                           .capacity = buffers_.kv_capacity};
  AppendAndAttend({.keys = Value(ins.inputs[1]),
                   .values = Value(ins.inputs[2]),
                   .k_cache = buffers_.k_cache[cache].get(),
                   .v_cache = buffers_.v_cache[cache].get()},
                  args, model_.pool());
}

}  // namespace lorashare

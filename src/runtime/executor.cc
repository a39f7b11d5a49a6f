#include "runtime/executor.h"

#include <cstring>

#include "kernels/attention.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/lora.h"
#include "kernels/matmul.h"
#include "kernels/norm.h"
#include "kernels/rope.h"

namespace lorashare {

std::span<const float> Executor::Run(std::span<const int32_t> tokens, int32_t position) {
  n_ = static_cast<int64_t>(tokens.size());
  position_ = position;
  if (n_ > buffers_.rows) {
    for (size_t s = 0; s < buffers_.slots.size(); ++s) {
      buffers_.slots[s].resize(plan_.slots[s].Floats(n_));
    }
    buffers_.lora_scratch.resize(plan_.max_lora_rank * n_);
    buffers_.rows = n_;
  }
  for (const LoadedModel::Step& step : model_.steps()) RunStep(step, tokens);
  const int32_t out = model_.spec().output_value;
  return {Value(out) + (Rows(out) - 1) * Width(out), static_cast<size_t>(Width(out))};
}

void Executor::RunStep(const LoadedModel::Step& step, std::span<const int32_t> tokens) {
  const InstructionSpec& ins = *step.instruction;
  const int32_t out = ins.outputs[0];
  float* y = Value(out);
  const int64_t rows = Rows(out), width = Width(out);
  switch (ins.op) {
    case OpCode::kEmbedding:
      return Embedding(step.weights[0], tokens, y);
    case OpCode::kRmsNorm:
      return RmsNorm({.x = Value(ins.inputs[0]),
                      .y = y,
                      .n = rows,
                      .width = width,
                      .group = ins.int_args[0],
                      .weight = static_cast<const float*>(step.weights[0].data),
                      .eps = ins.float_args[0]});
    case OpCode::kLinear:
      return MatMul(step.weights[0],
                    {.x = Value(ins.inputs[0]),
                     .n = rows,
                     .x_stride = Width(ins.inputs[0]),
                     .y = y,
                     .y_stride = width},
                    model_.pool());
    case OpCode::kLora:
      return Lora(step.weights[0], step.weights[1],
                  {.x = Value(ins.inputs[0]),
                   .x_stride = Width(ins.inputs[0]),
                   .y = y,
                   .y_stride = width,
                   .n = rows,
                   .scale = ins.float_args[0],
                   .scratch = buffers_.lora_scratch.data()},
                  model_.pool());
    case OpCode::kRope:
      return Rope(*step.rope,
                  {.x = y, .n = rows, .n_heads = ins.int_args[0], .start_position = position_});
    case OpCode::kAttention:
      return RunAttention(ins, step.kv_cache);
    case OpCode::kSwiGlu:
      return SwiGlu(Value(ins.inputs[0]), Value(ins.inputs[1]), rows * width, y);
    case OpCode::kAdd:
      return Add(Value(ins.inputs[0]), Value(ins.inputs[1]), rows * width, y);
    case OpCode::kLastToken:
      std::memmove(y, Value(ins.inputs[0]) + (n_ - 1) * width, width * sizeof(float));
      return;
  }
}

void Executor::RunAttention(const InstructionSpec& ins, int32_t cache) {
  const int64_t kv_width = plan_.kv_width[cache];
  float* k_cache = buffers_.k_cache[cache].get();
  float* v_cache = buffers_.v_cache[cache].get();
  std::memcpy(k_cache + position_ * kv_width, Value(ins.inputs[1]), n_ * kv_width * sizeof(float));
  std::memcpy(v_cache + position_ * kv_width, Value(ins.inputs[2]), n_ * kv_width * sizeof(float));
  Attention({.q = Value(ins.inputs[0]),
             .k_cache = k_cache,
             .v_cache = v_cache,
             .out = Value(ins.outputs[0]),
             .n = n_,
             .start_position = position_,
             .n_heads = ins.int_args[1],
             .n_kv_heads = ins.int_args[2],
             .head_dim = ins.int_args[3]},
            model_.pool());
}

}  // namespace lorashare

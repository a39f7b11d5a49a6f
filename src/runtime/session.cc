// The Session implementation and the executor: walks the bound instructions
// over the session's scratch slots and KV cache.
#include "runtime/session.h"

#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "kernels/attention.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/lora.h"
#include "kernels/matmul.h"
#include "kernels/norm.h"
#include "kernels/rope.h"
#include "runtime/loaded_model.h"

namespace lorashare {

Session::~Session() = default;

namespace {

class LoadedSession final : public Session {
 public:
  LoadedSession(std::shared_ptr<const LoadedModel> model, int32_t capacity)
      : model_(std::move(model)), plan_(model_->plan()), capacity_(capacity) {
    slots_.resize(plan_.slots.size());
  }

  // Reserves the KV cache; false when the system refuses the memory.
  bool AllocateKvCache() {
    for (int64_t width : plan_.kv_width) {
      // Uninitialised: pages become resident only as the conversation grows.
      k_cache_.emplace_back(new (std::nothrow) float[width * capacity_]);
      v_cache_.emplace_back(new (std::nothrow) float[width * capacity_]);
      if (!k_cache_.back() || !v_cache_.back()) return false;
    }
    return true;
  }

  Result<std::span<const float>> Forward(std::span<const int32_t> tokens) override;
  int32_t position() const override { return position_; }
  int32_t capacity() const override { return capacity_; }
  void Reset() override { position_ = 0; }

 private:
  Status CheckTokens(std::span<const int32_t> tokens) const;
  // Grows the scratch slots to hold a batch of `rows` tokens.
  void EnsureRows(int64_t rows);
  float* Value(int32_t value) { return slots_[plan_.values[value].slot].data(); }
  int64_t Rows(int32_t value, int64_t n) const { return plan_.values[value].one_row ? 1 : n; }
  void Run(const LoadedModel::Step& step, std::span<const int32_t> tokens);
  void RunAttention(const InstructionSpec& ins, int32_t cache, int64_t n);

  std::shared_ptr<const LoadedModel> model_;
  const ExecutionPlan& plan_;
  int32_t capacity_;
  int32_t position_ = 0;
  int64_t rows_ = 0;
  std::vector<std::unique_ptr<float[]>> k_cache_, v_cache_;  // by plan KV cache
  std::vector<std::vector<float>> slots_;
  std::vector<float> lora_scratch_;
};

Status LoadedSession::CheckTokens(std::span<const int32_t> tokens) const {
  if (tokens.empty()) return MakeError(ErrorCode::kInvalidArgument, "Forward: no tokens given");
  if (tokens.size() > static_cast<size_t>(capacity_ - position_)) {
    return MakeError(ErrorCode::kOutOfRange,
                     "Forward: {} tokens at position {} exceed the session capacity of {}",
                     tokens.size(), position_, capacity_);
  }
  const int32_t vocab = model_->spec().model.vocab_size;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "Forward: token {} (index {}) is outside the vocabulary [0, {})", tokens[i],
                       i, vocab);
    }
  }
  return OkStatus();
}

void LoadedSession::EnsureRows(int64_t rows) {
  if (rows <= rows_) return;
  for (size_t s = 0; s < slots_.size(); ++s) slots_[s].resize(plan_.slots[s].Floats(rows));
  lora_scratch_.resize(plan_.max_lora_rank * rows);
  rows_ = rows;
}

Result<std::span<const float>> LoadedSession::Forward(std::span<const int32_t> tokens) {
  LS_RETURN_IF_ERROR(CheckTokens(tokens));
  const int64_t n = static_cast<int64_t>(tokens.size());
  EnsureRows(n);
  for (const LoadedModel::Step& step : model_->steps()) Run(step, tokens);
  position_ += static_cast<int32_t>(n);
  const int32_t out = model_->spec().output_value;
  const int64_t vocab = plan_.values[out].width;
  return std::span<const float>(Value(out) + (Rows(out, n) - 1) * vocab, vocab);
}

void LoadedSession::Run(const LoadedModel::Step& step, std::span<const int32_t> tokens) {
  const InstructionSpec& ins = *step.instruction;
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int32_t out = ins.outputs[0];
  const int64_t width = plan_.values[out].width;
  float* y = Value(out);
  switch (ins.op) {
    case OpCode::kEmbedding:
      return Embedding(step.weights[0], tokens, y);
    case OpCode::kRmsNorm:
      return RmsNorm({.x = Value(ins.inputs[0]),
                      .y = y,
                      .n = Rows(out, n),
                      .width = width,
                      .group = ins.int_args[0],
                      .weight = static_cast<const float*>(step.weights[0].data),
                      .eps = ins.float_args[0]});
    case OpCode::kLinear: {
      const int64_t in = plan_.values[ins.inputs[0]].width;
      return MatMul(
          step.weights[0],
          {.x = Value(ins.inputs[0]), .n = Rows(out, n), .x_stride = in, .y = y, .y_stride = width},
          model_->pool());
    }
    case OpCode::kLora: {
      const int64_t in = plan_.values[ins.inputs[0]].width;
      return Lora(step.weights[0], step.weights[1],
                  {.x = Value(ins.inputs[0]),
                   .x_stride = in,
                   .y = y,
                   .y_stride = width,
                   .n = Rows(out, n),
                   .scale = ins.float_args[0],
                   .scratch = lora_scratch_.data()},
                  model_->pool());
    }
    case OpCode::kRope:
      return Rope(
          *step.rope,
          {.x = y, .n = Rows(out, n), .n_heads = ins.int_args[0], .start_position = position_});
    case OpCode::kAttention:
      return RunAttention(ins, step.kv_cache, n);
    case OpCode::kSwiGlu:
      return SwiGlu(Value(ins.inputs[0]), Value(ins.inputs[1]), Rows(out, n) * width, y);
    case OpCode::kAdd:
      return Add(Value(ins.inputs[0]), Value(ins.inputs[1]), Rows(out, n) * width, y);
    case OpCode::kLastToken:
      std::memmove(y, Value(ins.inputs[0]) + (n - 1) * width, width * sizeof(float));
      return;
  }
}

void LoadedSession::RunAttention(const InstructionSpec& ins, int32_t cache, int64_t n) {
  const int64_t kv_width = plan_.kv_width[cache];
  float* k_cache = k_cache_[cache].get();
  float* v_cache = v_cache_[cache].get();
  std::memcpy(k_cache + position_ * kv_width, Value(ins.inputs[1]), n * kv_width * sizeof(float));
  std::memcpy(v_cache + position_ * kv_width, Value(ins.inputs[2]), n * kv_width * sizeof(float));
  Attention({.q = Value(ins.inputs[0]),
             .k_cache = k_cache,
             .v_cache = v_cache,
             .out = Value(ins.outputs[0]),
             .n = n,
             .start_position = position_,
             .n_heads = ins.int_args[1],
             .n_kv_heads = ins.int_args[2],
             .head_dim = ins.int_args[3]},
            model_->pool());
}

}  // namespace

Result<std::unique_ptr<Session>> LoadedModel::NewSession(int32_t max_seq_len) const {
  if (max_seq_len <= 0 || max_seq_len > spec().model.max_context) {
    return MakeError(ErrorCode::kOutOfRange, "{}: session length {} outside [1, {}] (max_context)",
                     program_->path(), max_seq_len, spec().model.max_context);
  }
  auto session = std::make_unique<LoadedSession>(shared_from_this(), max_seq_len);
  if (!session->AllocateKvCache()) {
    return MakeError(ErrorCode::kOutOfRange, "{}: cannot allocate a KV cache of {} bytes",
                     program_->path(), KvCacheBytes(max_seq_len));
  }
  return std::unique_ptr<Session>(std::move(session));
}

}  // namespace lorashare

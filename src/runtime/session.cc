// The Session implementation: checks each batch of tokens, owns the buffers
// and hands them to the Executor.
#include "runtime/session.h"

#include <algorithm>
#include <memory>
#include <new>

#include "base/prefault.h"
#include "kernels/attention.h"
#include "runtime/executor.h"
#include "runtime/loaded_model.h"

namespace lorashare {

Session::~Session() = default;

namespace {

class LoadedSession final : public Session {
 public:
  LoadedSession(std::shared_ptr<const LoadedModel> model, int32_t capacity)
      : model_(std::move(model)), capacity_(capacity) {
    buffers_.slots.resize(model_->plan().slots.size());
  }

  // Reserves the KV cache; false when the system refuses the memory.
  bool AllocateKvCache() {
    buffers_.kv_capacity = KvCacheCapacity(capacity_);
    for (const KvShape& shape : model_->plan().kv_shapes) {
      // Uninitialised: pages become resident only as the conversation grows.
      const size_t bytes =
          KvCacheBytes(model_->kv_type(), shape.kv_heads, shape.head_dim, buffers_.kv_capacity);
      buffers_.k_cache.emplace_back(new (std::nothrow) uint8_t[bytes]);
      buffers_.v_cache.emplace_back(new (std::nothrow) uint8_t[bytes]);
      if (!buffers_.k_cache.back() || !buffers_.v_cache.back()) return false;
    }
    return true;
  }

  Result<std::span<const float>> Forward(std::span<const int32_t> tokens) override {
    LS_RETURN_IF_ERROR(CheckTokens(tokens));
    model_->MakeWeightsResident();
    MakeKvResident(position_ + static_cast<int64_t>(tokens.size()));
    const auto logits = Executor(*model_, buffers_).Run(tokens, position_);
    position_ += static_cast<int32_t>(tokens.size());
    return logits;
  }
  int32_t position() const override { return position_; }
  int32_t capacity() const override { return capacity_; }
  void Reset() override { position_ = 0; }
  void SetProfiling(bool on) override {
    buffers_.step_seconds.assign(on ? model_->steps().size() : 0, 0.0);
    buffers_.profiled_passes = 0;
  }
  StepProfile Profile() const override {
    if (buffers_.step_seconds.empty()) return {};
    return SummarizeStepTimes(*model_, buffers_.step_seconds, buffers_.profiled_passes);
  }

 private:
  Status CheckTokens(std::span<const int32_t> tokens) const;

  // Positions [0, positions) of every KV cache resident, a key block at a
  // time: a prefill's in one system call per run, a decode's once per block.
  void MakeKvResident(int64_t positions) {
    if (positions <= resident_positions_) return;
    const auto& shapes = model_->plan().kv_shapes;
    for (size_t c = 0; c < shapes.size(); ++c) {
      for (bool keys : {true, false}) {
        uint8_t* cache = keys ? buffers_.k_cache[c].get() : buffers_.v_cache[c].get();
        ForEachKvRun(
            model_->kv_type(), keys, shapes[c].kv_heads, shapes[c].head_dim, buffers_.kv_capacity,
            resident_positions_, positions,
            [&](uint64_t offset, uint64_t bytes) { PrefaultForWrite(cache + offset, bytes); });
      }
    }
    resident_positions_ = std::min(buffers_.kv_capacity, KvCacheCapacity(positions));
  }

  std::shared_ptr<const LoadedModel> model_;
  int32_t capacity_;
  int32_t position_ = 0;
  int64_t resident_positions_ = 0;  // of the KV caches, a multiple of kKeyBlock
  SessionBuffers buffers_;
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

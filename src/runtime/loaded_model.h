// LoadedModel: the Model implementation. It owns the program mapping, the
// data files, the bound weights (shared through the WeightCache unless
// sharing is off) and, per instruction, the kernel operands the executor
// needs, resolved once at load.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "format/program.h"
#include "format/ptd.h"
#include "kernels/matrix.h"
#include "kernels/rope.h"
#include "kernels/thread_pool.h"
#include "runtime/data_map.h"
#include "runtime/model.h"
#include "runtime/plan.h"
#include "runtime/weight.h"

namespace lorashare {

class LoadedModel final : public Model, public std::enable_shared_from_this<LoadedModel> {
 public:
  // One instruction with its operands bound.
  struct Step {
    const InstructionSpec* instruction = nullptr;
    MatrixView weights[2];
    const RopeFrequencies* rope = nullptr;
    int32_t kv_cache = -1;  // ATTENTION: index into the session's KV caches
  };

  static Result<std::shared_ptr<LoadedModel>> Create(
      std::shared_ptr<const ProgramFile> program, std::vector<std::shared_ptr<const PtdFile>> files,
      ExecutionPlan plan, const ModelOptions& options);

  const ProgramSpec& spec() const override { return program_->spec(); }
  uint64_t adapter_bytes() const override { return adapter_bytes_; }
  uint64_t KvCacheBytes(int32_t max_seq_len) const override;
  const void* WeightData(int32_t tensor) const override;
  Result<std::unique_ptr<Session>> NewSession(int32_t max_seq_len) const override;

  const ExecutionPlan& plan() const { return plan_; }
  const std::vector<Step>& steps() const { return steps_; }
  ThreadPool* pool() const { return pool_.get(); }

 private:
  LoadedModel(std::shared_ptr<const ProgramFile> program, ExecutionPlan plan, int threads)
      : program_(std::move(program)),
        plan_(std::move(plan)),
        pool_(std::make_unique<ThreadPool>(threads)) {}

  Status Bind(const DataMap& data, const ModelOptions& options);
  Result<std::shared_ptr<const Weight>> BindTensor(int32_t index, KernelFormat format,
                                                   const DataMap& data,
                                                   const ModelOptions& options);
  Result<WeightSource> SourceOf(const TensorSpec& tensor, const DataMap& data) const;
  const RopeFrequencies* RopeFor(int64_t head_dim);

  std::shared_ptr<const ProgramFile> program_;
  std::vector<std::shared_ptr<const PtdFile>> files_;
  ExecutionPlan plan_;
  std::unique_ptr<ThreadPool> pool_;
  std::map<std::pair<int32_t, KernelFormat>, std::shared_ptr<const Weight>> weights_;
  std::map<int64_t, std::unique_ptr<RopeFrequencies>> ropes_;  // by head_dim
  std::vector<Step> steps_;
  uint64_t adapter_bytes_ = 0;
};

}  // namespace lorashare

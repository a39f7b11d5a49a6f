// LoadedModel: the Model implementation. It owns the program mapping, the
// data files, the bound weights (shared through the WeightCache unless
// sharing is off) and, per instruction, the kernel operands the executor
// needs, resolved once at load.
#pragma once

#include <map>
#include <memory>
#include <mutex>
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
    MatrixView weights[2];    // LORA: A and B
    int32_t rope = -1;        // ROPE: index into ropes()
    int32_t kv_cache = -1;    // ATTENTION: index into the session's KV caches
    int32_t lora_group = -1;  // LORA: index into plan().lora_groups
    bool lora_down = false;   // LORA: first member, computes the group's A products
    int64_t lora_offset = 0;  // LORA: first scratch column of this member
    int64_t lora_stride = 0;  // LORA: scratch columns (the group's rank)
    // LINEAR followed by the LORA that adapts it: that step's index. The
    // LINEAR's pass runs the LoRA group's A products as its prologue (when
    // the LoRA is its group's first member) and adds the B product to each
    // thread's rows, and the LORA step then does nothing (folded).
    int32_t folded_lora = -1;
    bool folded = false;  // LORA: run by the LINEAR before it
    // LINEARs of one input with nothing but their folded LORAs between
    // (q, k and v; gate and up) run as one MatMulSameInput: the first holds
    // every member's step index, the others are skipped (in_group).
    std::vector<int32_t> same_input;
    bool in_group = false;
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
  // The A matrices of plan().lora_groups[group], in member order.
  const std::vector<MatrixView>& lora_group_a(int32_t group) const { return lora_group_a_[group]; }
  // One table of frequencies per head_dim the program rotates.
  const std::vector<std::unique_ptr<RopeFrequencies>>& ropes() const { return ropes_; }
  DType kv_type() const { return kv_type_; }
  ThreadPool* pool() const { return pool_.get(); }
  // Maps every page of the weights used in place (base/prefault.h), once:
  // the first Forward of any session calls it, so that loading stays a
  // mapping and the first prompt does not fault the weights in page by page.
  void MakeWeightsResident() const;

 private:
  LoadedModel(std::shared_ptr<const ProgramFile> program, ExecutionPlan plan,
              const ModelOptions& options)
      : program_(std::move(program)),
        plan_(std::move(plan)),
        pool_(std::make_unique<ThreadPool>(options.threads)),
        kv_type_(options.kv_type) {}

  Status Bind(const DataMap& data, const ModelOptions& options);
  Result<std::shared_ptr<const Weight>> BindTensor(int32_t index, KernelFormat format,
                                                   const DataMap& data,
                                                   const ModelOptions& options);
  Result<WeightSource> SourceOf(const TensorSpec& tensor, const DataMap& data) const;
  void CountOwnBytes(int32_t index);
  int32_t RopeFor(int64_t head_dim);
  void FoldLoras();
  void GroupSameInputLinears();

  std::shared_ptr<const ProgramFile> program_;
  std::vector<std::shared_ptr<const PtdFile>> files_;
  ExecutionPlan plan_;
  std::unique_ptr<ThreadPool> pool_;
  std::map<std::pair<int32_t, KernelFormat>, std::shared_ptr<const Weight>> weights_;
  std::vector<std::vector<MatrixView>> lora_group_a_;  // by LoRA group
  std::vector<std::unique_ptr<RopeFrequencies>> ropes_;
  std::vector<Step> steps_;
  DType kv_type_;
  uint64_t adapter_bytes_ = 0;
  mutable std::once_flag weights_resident_;
};

}  // namespace lorashare

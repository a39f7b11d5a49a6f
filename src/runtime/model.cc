#include "runtime/model.h"

#include <algorithm>

#include <fmt/ranges.h>

#include <limits>

#include "base/prefault.h"
#include "kernels/attention.h"

#include "runtime/data_files.h"
#include "runtime/loaded_model.h"
#include "runtime/weight_cache.h"

namespace lorashare {
namespace {

KernelFormat FormatFor(OpCode op, const TensorSpec& tensor) {
  // Packed blobs are consumed as stored by the embedding lookup and the
  // matmul alike, so a table tied to the output layer is one cache entry;
  // tiled matrices hold a type the matmul takes.
  if (tensor.layout != WeightLayout::kPlain) return KernelFormat::kAsStored;
  switch (op) {
    case OpCode::kEmbedding:
      return KernelFormat::kAsStored;  // the lookup widens rows of any dtype
    case OpCode::kRmsNorm:
      return KernelFormat::kF32;
    default:
      return MatMulTakesDType(tensor.dtype) ? KernelFormat::kAsStored : KernelFormat::kF32;
  }
}

// Checks that every dimension is positive and, for plain tensors, that
// nbytes == product(shape) * element size, without overflow (the program
// file checked tiled and packed tensors' bytes against their layouts).
Status CheckTensorSize(const TensorSpec& tensor, const std::string& program) {
  uint64_t count = 1;
  for (int64_t dim : tensor.shape) {
    if (dim <= 0 ||
        count > std::numeric_limits<uint64_t>::max() / 16 / static_cast<uint64_t>(dim)) {
      return MakeError(ErrorCode::kCorrupt, "{}: tensor '{}' has invalid shape [{}]", program,
                       tensor.name, fmt::join(tensor.shape, ", "));
    }
    count *= static_cast<uint64_t>(dim);
  }
  if (tensor.layout == WeightLayout::kPlain && count * DTypeSize(tensor.dtype) != tensor.nbytes) {
    return MakeError(ErrorCode::kCorrupt, "{}: tensor '{}' of shape [{}] {} records {} bytes",
                     program, tensor.name, fmt::join(tensor.shape, ", "), DTypeName(tensor.dtype),
                     tensor.nbytes);
  }
  return OkStatus();
}

// The data file's own description of a blob, when it has one, must agree
// (StoredSizes).
Status CheckLayout(const TensorSpec& tensor, const PtdFile& file, const PtdEntry& entry) {
  if (entry.size != tensor.nbytes) {
    return MakeError(ErrorCode::kMismatch, "{}: key '{}' (tensor '{}') holds {} bytes, expected {}",
                     file.path(), entry.key, tensor.name, entry.size, tensor.nbytes);
  }
  if (!entry.layout) return OkStatus();
  const TensorLayout& layout = *entry.layout;
  const std::vector<int64_t> sizes(layout.sizes.begin(), layout.sizes.end());
  bool identity_order = true;
  for (size_t i = 0; i < layout.dim_order.size(); ++i) identity_order &= layout.dim_order[i] == i;
  const std::vector<int64_t> want = StoredSizes(tensor);
  if (layout.dtype != tensor.dtype || sizes != want || !identity_order) {
    return MakeError(ErrorCode::kMismatch,
                     "{}: key '{}' is {} [{}] (dim order [{}]), but tensor '{}' expects {} [{}]",
                     file.path(), entry.key, DTypeName(layout.dtype), fmt::join(sizes, ", "),
                     fmt::join(layout.dim_order, ", "), tensor.name, DTypeName(tensor.dtype),
                     fmt::join(tensor.shape, ", "));
  }
  return OkStatus();
}

}  // namespace

Model::~Model() = default;

Result<std::shared_ptr<const Model>> Model::Load(const std::string& program_path,
                                                 const std::vector<std::string>& data_paths,
                                                 const ModelOptions& options) {
  if (!KvCacheTakesDType(options.kv_type)) {
    return MakeError(ErrorCode::kInvalidArgument, "{}: KV cache type {} is not f32, f16 or i8",
                     program_path, DTypeName(options.kv_type));
  }
  LS_ASSIGN_OR_RETURN(auto program, ProgramFile::Open(program_path));
  LS_RETURN_IF_ERROR(program->spec().model.Validate(program_path));
  LS_ASSIGN_OR_RETURN(auto files, OpenDataFiles(program_path, program->spec(), data_paths));
  LS_ASSIGN_OR_RETURN(auto plan, BuildPlan(program->spec(), program_path));
  LS_ASSIGN_OR_RETURN(auto model, LoadedModel::Create(std::move(program), std::move(files),
                                                      std::move(plan), options));
  return std::shared_ptr<const Model>(std::move(model));
}

Result<std::shared_ptr<LoadedModel>> LoadedModel::Create(
    std::shared_ptr<const ProgramFile> program, std::vector<std::shared_ptr<const PtdFile>> files,
    ExecutionPlan plan, const ModelOptions& options) {
  std::shared_ptr<LoadedModel> model(new LoadedModel(std::move(program), std::move(plan), options));
  DataMap data;
  for (const auto& file : files) {
    auto added = data.Add(file);
    if (!added.ok()) return added.error().WithContext(model->program_->path());
  }
  model->files_ = std::move(files);
  LS_RETURN_IF_ERROR(model->Bind(data, options));
  return model;
}

Status LoadedModel::Bind(const DataMap& data, const ModelOptions& options) {
  const ProgramSpec& spec = program_->spec();
  lora_group_a_.resize(plan_.lora_groups.size());
  for (size_t i = 0; i < spec.instructions.size(); ++i) {
    const InstructionSpec& instruction = spec.instructions[i];
    Step step;
    step.instruction = &instruction;
    step.kv_cache = plan_.kv_cache_of_instruction[i];
    for (size_t k = 0; k < instruction.tensors.size(); ++k) {
      const int32_t index = instruction.tensors[k];
      const TensorSpec& tensor = spec.tensors[index];
      LS_ASSIGN_OR_RETURN(auto weight,
                          BindTensor(index, FormatFor(instruction.op, tensor), data, options));
      const int64_t cols = tensor.shape.size() > 1 ? tensor.shape[1] : 1;
      step.weights[k] = {weight->dtype(), weight->data(),   tensor.shape[0], cols,
                         tensor.layout,   tensor.group_size};
    }
    step.lora_group = plan_.lora_group_of_instruction[i];
    if (step.lora_group >= 0) {
      const LoraGroup& group = plan_.lora_groups[step.lora_group];
      std::vector<MatrixView>& a = lora_group_a_[step.lora_group];
      step.lora_down = a.empty();
      step.lora_offset = group.offsets[a.size()];
      step.lora_stride = group.rank;
      a.push_back(step.weights[0]);
    }
    if (instruction.op == OpCode::kRope) step.rope = RopeFor(instruction.int_args[1]);
    steps_.push_back(step);
  }
  FoldLoras();
  GroupSameInputLinears();
  return OkStatus();
}

// A LORA right after the LINEAR it adapts (same input, accumulating into the
// LINEAR's output) is folded into it. Its group's A products then run at the
// start of the LINEAR's pass rather than after it: they read only the input,
// which the LINEAR does not write, and the LoRA scratch, which no step
// between uses.
void LoadedModel::FoldLoras() {
  for (size_t i = 0; i + 1 < steps_.size(); ++i) {
    const InstructionSpec& linear = *steps_[i].instruction;
    const InstructionSpec& lora = *steps_[i + 1].instruction;
    if (linear.op != OpCode::kLinear || lora.op != OpCode::kLora) continue;
    if (lora.inputs[0] != linear.inputs[0] || lora.inputs[1] != linear.outputs[0] ||
        lora.outputs[0] != linear.outputs[0] || linear.inputs[0] == linear.outputs[0]) {
      continue;
    }
    steps_[i].folded_lora = static_cast<int32_t>(i + 1);
    steps_[i + 1].folded = true;
  }
}

// Later members move up to the first one's place: the steps they pass over
// are members and folded LORAs, which write only the members' outputs, and no
// member reads another's output or writes the shared input. Outputs must sit
// in distinct slots, apart from the input's: the planner lets a value reuse a
// slot that is free in program order, which running together would break.
// The members' folded LORAs must be of one LoRA group: groups share the
// scratch, and every member's A products run before the pass.
void LoadedModel::GroupSameInputLinears() {
  auto linear = [&](size_t i) -> const InstructionSpec* {
    const InstructionSpec* ins = steps_[i].instruction;
    return ins->op == OpCode::kLinear ? ins : nullptr;
  };
  for (size_t i = 0; i < steps_.size(); ++i) {
    const InstructionSpec* first = linear(i);
    if (first == nullptr || steps_[i].in_group) continue;
    const MatrixView& w = steps_[i].weights[0];
    auto slot = [&](int32_t value) { return plan_.values[value].slot; };
    std::vector<int32_t> members{static_cast<int32_t>(i)};
    std::vector<int32_t> slots{slot(first->inputs[0]), slot(first->outputs[0])};
    auto lora_group = [&](size_t s) {
      const int32_t lora = steps_[s].folded_lora;
      return lora < 0 ? -1 : steps_[lora].lora_group;
    };
    int32_t group = lora_group(i);
    for (size_t j = i + 1; j < steps_.size(); ++j) {
      if (steps_[j].folded) continue;
      const InstructionSpec* next = linear(j);
      if (next == nullptr || next->inputs[0] != first->inputs[0]) break;
      const MatrixView& v = steps_[j].weights[0];
      const int32_t out = slot(next->outputs[0]);
      const int32_t next_group = lora_group(j);
      if (v.layout != w.layout || v.dtype != w.dtype || v.cols != w.cols ||
          v.group_size != w.group_size ||
          std::find(slots.begin(), slots.end(), out) != slots.end() ||
          (next_group >= 0 && group >= 0 && next_group != group)) {
        break;
      }
      members.push_back(static_cast<int32_t>(j));
      slots.push_back(out);
      if (next_group >= 0) group = next_group;
    }
    if (members.size() < 2) continue;
    for (size_t m = 1; m < members.size(); ++m) steps_[members[m]].in_group = true;
    steps_[i].same_input = std::move(members);
  }
}

// Adds the tensor's bytes to adapter_bytes() on its first binding when it
// belongs to this program (inline, or from an adapter data file).
void LoadedModel::CountOwnBytes(int32_t index) {
  const TensorSpec& tensor = spec().tensors[index];
  const bool own =
      tensor.is_inline() || spec().data_files[tensor.data_file].role == DataRole::kAdapter;
  if (own && WeightData(index) == nullptr) adapter_bytes_ += tensor.nbytes;
}

Result<std::shared_ptr<const Weight>> LoadedModel::BindTensor(int32_t index, KernelFormat format,
                                                              const DataMap& data,
                                                              const ModelOptions& options) {
  const TensorSpec& tensor = spec().tensors[index];
  const auto key = std::make_pair(index, CanonicalFormat(format, tensor.dtype));
  if (auto it = weights_.find(key); it != weights_.end()) return it->second;
  LS_ASSIGN_OR_RETURN(WeightSource source, SourceOf(tensor, data));
  std::shared_ptr<const Weight> weight;
  if (options.share_weights && !tensor.is_inline()) {
    weight = WeightCache::Global().Get(source, tensor.key, format);
  } else {
    // Inline tensors belong to this program; without sharing everything is a private copy.
    weight = Weight::Make(source, format, !options.share_weights);
  }
  CountOwnBytes(index);
  weights_.emplace(key, weight);
  return weight;
}

Result<WeightSource> LoadedModel::SourceOf(const TensorSpec& tensor, const DataMap& data) const {
  const std::string& path = program_->path();
  LS_RETURN_IF_ERROR(CheckTensorSize(tensor, path));
  const uint64_t alignment = IsQuantized(tensor.layout) ? kPackedSectionAlignment : 0;
  if (tensor.is_inline()) {
    const auto bytes = program_->InlineBytes(tensor);
    if (bytes.size() != tensor.nbytes) {
      return MakeError(ErrorCode::kCorrupt, "{}: inline tensor '{}' has {} bytes, expected {}",
                       path, tensor.name, bytes.size(), tensor.nbytes);
    }
    return WeightSource{bytes, tensor.dtype, program_, nullptr, alignment};
  }
  if (tensor.data_file < 0 || static_cast<size_t>(tensor.data_file) >= spec().data_files.size()) {
    return MakeError(ErrorCode::kCorrupt, "{}: tensor '{}' names data file {} of {}", path,
                     tensor.name, tensor.data_file, spec().data_files.size());
  }
  const DataMap::Found found = data.Find(tensor.key);
  if (found.file == nullptr) {
    return MakeError(ErrorCode::kNotFound,
                     "{}: tensor '{}': key '{}' is in no data file given ({})", path, tensor.name,
                     tensor.key, spec().data_files[tensor.data_file].name);
  }
  LS_RETURN_IF_ERROR(CheckLayout(tensor, *found.file, *found.entry));
  return WeightSource{found.file->Bytes(*found.entry), tensor.dtype, found.file->shared_mapping(),
                      &found.file->mapping(), alignment};
}

int32_t LoadedModel::RopeFor(int64_t head_dim) {
  for (size_t r = 0; r < ropes_.size(); ++r) {
    if (ropes_[r]->head_dim() == head_dim) return static_cast<int32_t>(r);
  }
  const ModelConfig& model = spec().model;
  ropes_.push_back(
      std::make_unique<RopeFrequencies>(head_dim, model.rope_theta, model.rope_scaling));
  return static_cast<int32_t>(ropes_.size() - 1);
}

const void* LoadedModel::WeightData(int32_t tensor) const {
  auto it = weights_.lower_bound({tensor, KernelFormat::kAsStored});
  return it != weights_.end() && it->first.first == tensor ? it->second->data() : nullptr;
}

void LoadedModel::MakeWeightsResident() const {
  std::call_once(weights_resident_, [this] {
    for (const auto& [key, weight] : weights_) {
      if (!weight->is_copy()) PrefaultForRead(weight->data(), weight->nbytes());
    }
  });
}

uint64_t LoadedModel::KvCacheBytes(int32_t max_seq_len) const {
  uint64_t bytes = 0;
  const int64_t capacity = KvCacheCapacity(max_seq_len);
  for (const KvShape& shape : plan_.kv_shapes) {
    bytes += 2 * lorashare::KvCacheBytes(kv_type_, shape.kv_heads, shape.head_dim, capacity);
  }
  return bytes;
}

}  // namespace lorashare

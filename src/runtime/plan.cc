#include "runtime/plan.h"

#include <algorithm>
#include <limits>
#include <set>

#include <fmt/ranges.h>

namespace lorashare {
namespace {

struct Arity {
  size_t inputs, outputs, tensors, ints, floats;
};

Arity ArityOf(OpCode op) {
  switch (op) {
    case OpCode::kEmbedding:
      return {1, 1, 1, 0, 0};
    case OpCode::kRmsNorm:
      return {1, 1, 1, 1, 1};
    case OpCode::kLinear:
      return {1, 1, 1, 0, 0};
    case OpCode::kLora:
      return {2, 1, 2, 0, 1};
    case OpCode::kRope:
      return {1, 1, 0, 2, 0};
    case OpCode::kAttention:
      return {3, 1, 0, 4, 0};
    case OpCode::kSwiGlu:
    case OpCode::kAdd:
      return {2, 1, 0, 0, 0};
    case OpCode::kLastToken:
      return {1, 1, 0, 0, 0};
  }
  return {0, 0, 0, 0, 0};
}

// Ops whose kernels may write their output over an input.
bool AllowsAlias(OpCode op) {
  return op == OpCode::kRmsNorm || op == OpCode::kSwiGlu || op == OpCode::kAdd;
}

class Planner {
 public:
  Planner(const ProgramSpec& spec, std::string_view source) : spec_(spec), source_(source) {}

  Result<ExecutionPlan> Build() {
    const size_t count = spec_.values.size();
    if (spec_.input_value < 0 || static_cast<size_t>(spec_.input_value) >= count ||
        spec_.output_value < 0 || static_cast<size_t>(spec_.output_value) >= count ||
        spec_.input_value == spec_.output_value) {
      return MakeError(ErrorCode::kCorrupt, "{}: input value {} / output value {} out of range",
                       source_, spec_.input_value, spec_.output_value);
    }
    plan_.values.resize(count);
    defined_.assign(count, -1);
    last_use_.assign(count, -1);
    plan_.kv_cache_of_instruction.assign(spec_.instructions.size(), -1);
    for (size_t v = 0; v < count; ++v) {
      plan_.values[v].width = spec_.values[v].width;
      if (static_cast<int32_t>(v) != spec_.input_value && spec_.values[v].width <= 0) {
        return MakeError(ErrorCode::kCorrupt, "{}: value '{}' has width {}", source_,
                         spec_.values[v].name, spec_.values[v].width);
      }
    }
    for (size_t i = 0; i < spec_.instructions.size(); ++i) {
      LS_RETURN_IF_ERROR(Check(static_cast<int>(i), spec_.instructions[i]));
    }
    const int32_t out = spec_.output_value;
    if (defined_[out] < 0) {
      return MakeError(ErrorCode::kCorrupt, "{}: output value '{}' is never computed", source_,
                       spec_.values[out].name);
    }
    if (plan_.values[out].width != spec_.model.vocab_size) {
      return MakeError(ErrorCode::kCorrupt, "{}: output value '{}' has width {}, vocab_size is {}",
                       source_, spec_.values[out].name, plan_.values[out].width,
                       spec_.model.vocab_size);
    }
    last_use_[out] = std::numeric_limits<int>::max();
    AssignSlots();
    GroupLoras();
    return std::move(plan_);
  }

 private:
  template <typename... Args>
  Error Fail(int index, fmt::format_string<Args...> format, Args&&... args) const {
    return MakeError(ErrorCode::kCorrupt, "{}: instruction {} ({}): {}", source_, index,
                     OpCodeName(spec_.instructions[index].op),
                     fmt::format(format, std::forward<Args>(args)...));
  }

  int32_t Width(int32_t value) const { return plan_.values[value].width; }

  const std::vector<int64_t>& Shape(const InstructionSpec& ins, size_t i) const {
    return spec_.tensors[ins.tensors[i]].shape;
  }

  Status ExpectShape(int index, const InstructionSpec& ins, size_t i,
                     std::vector<int64_t> want) const {
    const TensorSpec& tensor = spec_.tensors[ins.tensors[i]];
    if (tensor.shape != want) {
      return Fail(index, "tensor '{}' has shape [{}], expected [{}]", tensor.name,
                  fmt::join(tensor.shape, ", "), fmt::join(want, ", "));
    }
    return OkStatus();
  }

  // Norm weights and LoRA matrices are small and read as plain floats; a LoRA
  // B may be tiled (its product runs in the tiles of its base's rows).
  Status ExpectPlain(int index, const InstructionSpec& ins, size_t i, bool tiled_ok = false) const {
    const TensorSpec& tensor = spec_.tensors[ins.tensors[i]];
    if (tensor.layout != WeightLayout::kPlain &&
        !(tiled_ok && tensor.layout == WeightLayout::kTiled)) {
      return Fail(index, "tensor '{}' has layout {}; this instruction takes plain tensors",
                  tensor.name, WeightLayoutName(tensor.layout, tensor.group_size));
    }
    return OkStatus();
  }

  Status CheckIndices(int index, const InstructionSpec& ins) const {
    const Arity arity = ArityOf(ins.op);
    if (ins.inputs.size() != arity.inputs || ins.outputs.size() != arity.outputs ||
        ins.tensors.size() != arity.tensors || ins.int_args.size() != arity.ints ||
        ins.float_args.size() != arity.floats) {
      return Fail(index, "wrong number of inputs/outputs/tensors/arguments");
    }
    for (const auto* list : {&ins.inputs, &ins.outputs}) {
      for (int32_t v : *list) {
        if (v < 0 || static_cast<size_t>(v) >= spec_.values.size()) {
          return Fail(index, "value index {} out of range", v);
        }
      }
    }
    for (int32_t t : ins.tensors) {
      if (t < 0 || static_cast<size_t>(t) >= spec_.tensors.size()) {
        return Fail(index, "tensor index {} out of range", t);
      }
    }
    return OkStatus();
  }

  Status CheckUse(int index, const InstructionSpec& ins) {
    const bool embedding = ins.op == OpCode::kEmbedding;
    for (size_t k = 0; k < ins.inputs.size(); ++k) {
      const int32_t v = ins.inputs[k];
      if ((v == spec_.input_value) != embedding) {
        return Fail(index, "only EMBEDDING reads the token input (value {})", v);
      }
      if (!embedding && defined_[v] < 0) {
        return Fail(index, "reads value '{}' before it is computed", spec_.values[v].name);
      }
      last_use_[v] = index;
    }
    const int32_t out = ins.outputs[0];
    const bool in_place = (ins.op == OpCode::kLora && out == ins.inputs[1]) ||
                          (ins.op == OpCode::kRope && out == ins.inputs[0]);
    if ((ins.op == OpCode::kLora || ins.op == OpCode::kRope) && !in_place) {
      return Fail(index, "must update its value in place");
    }
    const bool aliases = std::count(ins.inputs.begin(), ins.inputs.end(), out) > 0;
    if (aliases && !in_place && !AllowsAlias(ins.op)) {
      return Fail(index, "writes value '{}' that it also reads", spec_.values[out].name);
    }
    if (out == spec_.input_value) return Fail(index, "writes the token input");
    const bool one_row =
        ins.op == OpCode::kLastToken || (!embedding && plan_.values[ins.inputs[0]].one_row);
    for (int32_t v : ins.inputs) {
      if (!embedding && plan_.values[v].one_row != one_row && ins.op != OpCode::kLastToken) {
        return Fail(index, "mixes values of one row and of every token");
      }
    }
    if (ins.op == OpCode::kLastToken && plan_.values[ins.inputs[0]].one_row) {
      return Fail(index, "input already holds one row");
    }
    if (defined_[out] >= 0 && plan_.values[out].one_row != one_row) {
      return Fail(index, "redefines value '{}' with another row count", spec_.values[out].name);
    }
    if (defined_[out] < 0) defined_[out] = index;
    plan_.values[out].one_row = one_row;
    last_use_[out] = std::max(last_use_[out], index);
    return OkStatus();
  }

  Status Check(int index, const InstructionSpec& ins) {
    LS_RETURN_IF_ERROR(CheckIndices(index, ins));
    LS_RETURN_IF_ERROR(CheckUse(index, ins));
    const int32_t out = Width(ins.outputs[0]);
    const int32_t in = ins.op == OpCode::kEmbedding ? 0 : Width(ins.inputs[0]);
    switch (ins.op) {
      case OpCode::kEmbedding:
        return ExpectShape(index, ins, 0, {spec_.model.vocab_size, out});
      case OpCode::kRmsNorm: {
        const int64_t group = ins.int_args[0];
        if (group <= 0 || in != out || in % group != 0) {
          return Fail(index, "group {} does not divide width {} (output width {})", group, in, out);
        }
        if (!(ins.float_args[0] > 0))
          return Fail(index, "eps {} is not positive", ins.float_args[0]);
        LS_RETURN_IF_ERROR(ExpectPlain(index, ins, 0));
        return ExpectShape(index, ins, 0, {group});
      }
      case OpCode::kLinear:
        return ExpectShape(index, ins, 0, {out, in});
      case OpCode::kLora: {
        if (Shape(ins, 0).size() != 2 || Shape(ins, 0)[0] <= 0) {
          return Fail(index, "LoRA A must be (rank, in)");
        }
        const int64_t rank = Shape(ins, 0)[0];
        LS_RETURN_IF_ERROR(ExpectPlain(index, ins, 0));
        LS_RETURN_IF_ERROR(ExpectPlain(index, ins, 1, /*tiled_ok=*/true));
        LS_RETURN_IF_ERROR(ExpectShape(index, ins, 0, {rank, in}));
        return ExpectShape(index, ins, 1, {out, rank});
      }
      case OpCode::kRope: {
        const int64_t heads = ins.int_args[0], head_dim = ins.int_args[1];
        if (heads <= 0 || head_dim <= 0 || head_dim % 2 != 0 || heads * head_dim != in) {
          return Fail(index, "{} heads of {} do not fit width {}", heads, head_dim, in);
        }
        return OkStatus();
      }
      case OpCode::kAttention:
        return CheckAttention(index, ins);
      case OpCode::kSwiGlu:
      case OpCode::kAdd:
      case OpCode::kLastToken:
        for (int32_t v : ins.inputs) {
          if (Width(v) != out) return Fail(index, "widths {} and {} differ", Width(v), out);
        }
        return OkStatus();
    }
    return Fail(index, "unknown opcode");
  }

  Status CheckAttention(int index, const InstructionSpec& ins) {
    const int64_t layer = ins.int_args[0], heads = ins.int_args[1], kv_heads = ins.int_args[2],
                  head_dim = ins.int_args[3];
    if (layer < 0 || layer >= spec_.model.n_layers) {
      return Fail(index, "layer {} outside [0, {})", layer, spec_.model.n_layers);
    }
    if (heads <= 0 || kv_heads <= 0 || head_dim <= 0 || heads % kv_heads != 0) {
      return Fail(index, "{} heads cannot share {} kv heads", heads, kv_heads);
    }
    if (Width(ins.inputs[0]) != heads * head_dim || Width(ins.outputs[0]) != heads * head_dim ||
        Width(ins.inputs[1]) != kv_heads * head_dim ||
        Width(ins.inputs[2]) != kv_heads * head_dim) {
      return Fail(index, "q/k/v/output widths do not match {} heads, {} kv heads of {}", heads,
                  kv_heads, head_dim);
    }
    if (plan_.values[ins.inputs[0]].one_row) return Fail(index, "needs every token's rows");
    if (!attention_layers_.insert(layer).second) {
      return Fail(index, "layer {} attends twice", layer);
    }
    plan_.kv_cache_of_instruction[index] = static_cast<int32_t>(plan_.kv_shapes.size());
    plan_.kv_shapes.push_back({.kv_heads = kv_heads, .head_dim = head_dim});
    return OkStatus();
  }

  // Greedy interval assignment in order of definition: a slot is free for a
  // value defined at instruction i once its last occupant's last use is < i.
  void AssignSlots() {
    std::vector<int32_t> order;
    for (size_t v = 0; v < plan_.values.size(); ++v) {
      if (defined_[v] >= 0) order.push_back(static_cast<int32_t>(v));
    }
    std::sort(order.begin(), order.end(),
              [&](int32_t a, int32_t b) { return defined_[a] < defined_[b]; });
    std::vector<int> slot_free_after;
    for (int32_t v : order) {
      PlannedValue& value = plan_.values[v];
      size_t slot = 0;
      while (slot < slot_free_after.size() && slot_free_after[slot] >= defined_[v]) ++slot;
      if (slot == slot_free_after.size()) {
        slot_free_after.push_back(0);
        plan_.slots.emplace_back();
      }
      slot_free_after[slot] = last_use_[v];
      value.slot = static_cast<int32_t>(slot);
      int64_t& width =
          value.one_row ? plan_.slots[slot].one_row_width : plan_.slots[slot].width_per_row;
      width = std::max<int64_t>(width, value.width);
    }
  }

  // See LoraGroup: a group stays open for LORA instructions on its input
  // until something writes that input or a LORA on another input starts.
  void GroupLoras() {
    plan_.lora_group_of_instruction.assign(spec_.instructions.size(), -1);
    int32_t open_input = -1;
    for (size_t i = 0; i < spec_.instructions.size(); ++i) {
      const InstructionSpec& ins = spec_.instructions[i];
      if (ins.op == OpCode::kLora) {
        if (ins.inputs[0] != open_input) {
          plan_.lora_groups.emplace_back();
          open_input = ins.inputs[0];
        }
        LoraGroup& group = plan_.lora_groups.back();
        group.instructions.push_back(static_cast<int32_t>(i));
        group.offsets.push_back(group.rank);
        group.rank += Shape(ins, 0)[0];
        plan_.max_lora_rank = std::max(plan_.max_lora_rank, group.rank);
        plan_.lora_group_of_instruction[i] = static_cast<int32_t>(plan_.lora_groups.size() - 1);
      }
      if (ins.outputs[0] == open_input) open_input = -1;
    }
  }

  const ProgramSpec& spec_;
  std::string_view source_;
  ExecutionPlan plan_;
  std::vector<int> defined_;
  std::vector<int> last_use_;
  std::set<int64_t> attention_layers_;
};

}  // namespace

Result<ExecutionPlan> BuildPlan(const ProgramSpec& spec, std::string_view source) {
  return Planner(spec, source).Build();
}

}  // namespace lorashare

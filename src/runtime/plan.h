// ExecutionPlan: a program's instruction list checked once at load and laid
// out for execution.
//
// Checking: every instruction's arity, arguments, value widths and tensor
// shapes fit together, values are defined before use, and each layer's KV
// cache is appended once per pass, so the executor needs no checks of its own.
// Layout: values whose lifetimes do not overlap share a scratch slot, and
// values after LAST_TOKEN hold one row (the logits never take a row per
// prompt token). LORA instructions that read one input (q and v read the same
// normed x) are grouped so their A products run as one matmul.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "format/program.h"

namespace lorashare {

struct PlannedValue {
  int32_t width = 0;
  bool one_row = false;  // after LAST_TOKEN: one row whatever the batch
  int32_t slot = -1;     // -1: the token input
};

struct PlannedSlot {
  int64_t width_per_row = 0;  // max width of the per-token values in it
  int64_t one_row_width = 0;  // max width of the one-row values in it
  // Floats needed for a batch of `rows` tokens.
  int64_t Floats(int64_t rows) const { return std::max(width_per_row * rows, one_row_width); }
};

// LORA instructions that read the same input value, with nothing writing it
// in between and no other LORA interleaved: the first member computes
// x A_m^T for every member m in one parallel pass over x (LoraDownGroup, each
// A read in place), and each member then adds its B product from its own
// columns of that scratch. Groups do not overlap, so they share one scratch.
struct LoraGroup {
  std::vector<int32_t> instructions;  // program order
  std::vector<int64_t> offsets;       // each member's first scratch column
  int64_t rank = 0;                   // sum of the members' ranks
};

// The shape of one layer's KV cache.
struct KvShape {
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
};

struct ExecutionPlan {
  std::vector<PlannedValue> values;  // by value index
  std::vector<PlannedSlot> slots;
  // One KV cache per ATTENTION instruction (one per layer): its shape, and
  // which cache each instruction uses (-1: none).
  std::vector<KvShape> kv_shapes;
  std::vector<int32_t> kv_cache_of_instruction;
  std::vector<LoraGroup> lora_groups;
  std::vector<int32_t> lora_group_of_instruction;  // -1: not a LORA
  int64_t max_lora_rank = 0;                       // widest group: scratch columns
};

// `source` names the program in errors.
Result<ExecutionPlan> BuildPlan(const ProgramSpec& spec, std::string_view source);

}  // namespace lorashare

// The tensors a ModelConfig implies, under canonical names (see checkpoint.h),
// with their shapes: what every importer checks a checkpoint against, and what
// LoRA adapters are checked against.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/model_config.h"

namespace lorashare {

struct ExpectedTensor {
  std::string name;
  std::vector<int64_t> shape;
};

// In a fixed order: embeddings, then per layer, then final norm and output.
// output.weight is left out when the embeddings are tied.
std::vector<ExpectedTensor> ExpectedTensors(const ModelConfig& config);

// The linear projections of a layer, in program order.
enum class Projection : uint8_t { kWq, kWk, kWv, kWo, kW1, kW2, kW3 };
inline constexpr std::array<Projection, 7> kProjections = {
    Projection::kWq, Projection::kWk, Projection::kWv, Projection::kWo,
    Projection::kW1, Projection::kW2, Projection::kW3};

// "attention.wq", "feed_forward.w1", ...
std::string_view ProjectionName(Projection projection);
std::optional<Projection> ProjectionFromName(std::string_view name);
// "layers.3.attention.wq"
std::string ProjectionTarget(int32_t layer, Projection projection);

struct LinearShape {
  int64_t out_features = 0;
  int64_t in_features = 0;
};
LinearShape ProjectionShape(const ModelConfig& config, Projection projection);

}  // namespace lorashare

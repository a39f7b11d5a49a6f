#include "import/checkpoint_layout.h"

#include <fmt/format.h>

namespace lorashare {
namespace {

constexpr std::array<std::string_view, 7> kProjectionNames = {
    "attention.wq",    "attention.wk",    "attention.wv",   "attention.wo",
    "feed_forward.w1", "feed_forward.w2", "feed_forward.w3"};

}  // namespace

std::string_view ProjectionName(Projection projection) {
  return kProjectionNames[static_cast<size_t>(projection)];
}

std::optional<Projection> ProjectionFromName(std::string_view name) {
  for (Projection projection : kProjections) {
    if (ProjectionName(projection) == name) return projection;
  }
  return std::nullopt;
}

std::string ProjectionTarget(int32_t layer, Projection projection) {
  return fmt::format("layers.{}.{}", layer, ProjectionName(projection));
}

LinearShape ProjectionShape(const ModelConfig& config, Projection projection) {
  const int64_t dim = config.dim;
  const int64_t q_out = int64_t{config.n_heads} * config.head_dim;
  const int64_t kv_out = int64_t{config.n_kv_heads} * config.head_dim;
  switch (projection) {
    case Projection::kWq:
      return {q_out, dim};
    case Projection::kWk:
    case Projection::kWv:
      return {kv_out, dim};
    case Projection::kWo:
      return {dim, q_out};
    case Projection::kW1:
    case Projection::kW3:
      return {config.hidden_dim, dim};
    case Projection::kW2:
      return {dim, config.hidden_dim};
  }
  return {};
}

std::vector<ExpectedTensor> ExpectedTensors(const ModelConfig& config) {
  std::vector<ExpectedTensor> out;
  out.push_back({"tok_embeddings.weight", {config.vocab_size, config.dim}});
  for (int32_t layer = 0; layer < config.n_layers; ++layer) {
    const std::string prefix = fmt::format("layers.{}.", layer);
    out.push_back({prefix + "attention_norm.weight", {config.dim}});
    for (Projection projection : kProjections) {
      LinearShape shape = ProjectionShape(config, projection);
      out.push_back({ProjectionTarget(layer, projection) + ".weight",
                     {shape.out_features, shape.in_features}});
    }
    if (config.qk_norm) {
      out.push_back({prefix + "attention.q_norm.weight", {config.head_dim}});
      out.push_back({prefix + "attention.k_norm.weight", {config.head_dim}});
    }
    out.push_back({prefix + "ffn_norm.weight", {config.dim}});
  }
  out.push_back({"norm.weight", {config.dim}});
  if (!config.tied_embeddings) out.push_back({"output.weight", {config.vocab_size, config.dim}});
  return out;
}

}  // namespace lorashare

#include "testmodel/hf_names.h"

#include <array>
#include <utility>

#include "import/tensor_names.h"

namespace lorashare {
namespace {

// Canonical module suffix -> Hugging Face module suffix.
constexpr std::array<std::pair<std::string_view, std::string_view>, 11> kLayerModules = {{
    {"attention.wq", "self_attn.q_proj"},
    {"attention.wk", "self_attn.k_proj"},
    {"attention.wv", "self_attn.v_proj"},
    {"attention.wo", "self_attn.o_proj"},
    {"attention.q_norm", "self_attn.q_norm"},
    {"attention.k_norm", "self_attn.k_norm"},
    {"feed_forward.w1", "mlp.gate_proj"},
    {"feed_forward.w2", "mlp.down_proj"},
    {"feed_forward.w3", "mlp.up_proj"},
    {"attention_norm", "input_layernorm"},
    {"ffn_norm", "post_attention_layernorm"},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kTopModules = {{
    {"tok_embeddings", "model.embed_tokens"},
    {"norm", "model.norm"},
    {"output", "lm_head"},
}};

std::string_view StripSuffix(std::string_view name, std::string_view suffix) {
  if (name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
    name.remove_suffix(suffix.size());
  }
  return name;
}

}  // namespace

std::string HfTensorName(std::string_view canonical) {
  std::string_view module = StripSuffix(canonical, ".weight");
  for (const auto& [ours, theirs] : kTopModules) {
    if (module == ours) return std::string(theirs) + ".weight";
  }
  if (auto layer = SplitLayerModule(module, "")) {
    for (const auto& [ours, theirs] : kLayerModules) {
      if (layer->rest == ours) {
        return "model.layers." + std::to_string(layer->layer) + "." + std::string(theirs) +
               ".weight";
      }
    }
  }
  return std::string(canonical);
}

std::string_view PeftTargetName(Projection projection) {
  std::string_view module = ProjectionName(projection);
  for (const auto& [ours, theirs] : kLayerModules) {
    if (module == ours) return theirs.substr(theirs.find('.') + 1);
  }
  return module;
}

std::string_view TorchtuneModuleName(Projection projection) {
  switch (projection) {
    case Projection::kWq:
      return "attn.q_proj";
    case Projection::kWk:
      return "attn.k_proj";
    case Projection::kWv:
      return "attn.v_proj";
    case Projection::kWo:
      return "attn.output_proj";
    case Projection::kW1:
      return "mlp.w1";
    case Projection::kW2:
      return "mlp.w2";
    case Projection::kW3:
      return "mlp.w3";
  }
  return "";
}

}  // namespace lorashare

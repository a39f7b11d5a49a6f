#include "import/tensor_names.h"

#include <array>
#include <charconv>
#include <utility>

#include <fmt/format.h>

namespace lorashare {
namespace {

using NamePair = std::pair<std::string_view, std::string_view>;

constexpr std::array<NamePair, 11> kHfLayerModules = {{
    {"self_attn.q_proj", "attention.wq"},
    {"self_attn.k_proj", "attention.wk"},
    {"self_attn.v_proj", "attention.wv"},
    {"self_attn.o_proj", "attention.wo"},
    {"self_attn.q_norm", "attention.q_norm"},
    {"self_attn.k_norm", "attention.k_norm"},
    {"mlp.gate_proj", "feed_forward.w1"},
    {"mlp.down_proj", "feed_forward.w2"},
    {"mlp.up_proj", "feed_forward.w3"},
    {"input_layernorm", "attention_norm"},
    {"post_attention_layernorm", "ffn_norm"},
}};

constexpr std::array<NamePair, 3> kHfGlobalModules = {{
    {"model.embed_tokens", "tok_embeddings"},
    {"model.norm", "norm"},
    {"lm_head", "output"},
}};

constexpr std::array<NamePair, 14> kTorchtuneLayerModules = {{
    {"attn.q_proj", "attention.wq"},
    {"attn.k_proj", "attention.wk"},
    {"attn.v_proj", "attention.wv"},
    {"attn.output_proj", "attention.wo"},
    {"mlp.w1", "feed_forward.w1"},
    {"mlp.w2", "feed_forward.w2"},
    {"mlp.w3", "feed_forward.w3"},
    {"attention.wq", "attention.wq"},
    {"attention.wk", "attention.wk"},
    {"attention.wv", "attention.wv"},
    {"attention.wo", "attention.wo"},
    {"feed_forward.w1", "feed_forward.w1"},
    {"feed_forward.w2", "feed_forward.w2"},
    {"feed_forward.w3", "feed_forward.w3"},
}};

template <size_t N>
std::optional<std::string> MapLayerModule(std::string_view module, std::string_view prefix,
                                          const std::array<NamePair, N>& table) {
  auto split = SplitLayerModule(module, prefix);
  if (!split) return std::nullopt;
  for (const auto& [from, to] : table) {
    if (split->rest == from) return fmt::format("layers.{}.{}", split->layer, to);
  }
  return std::nullopt;
}

}  // namespace

std::optional<LayerModule> SplitLayerModule(std::string_view module, std::string_view prefix) {
  const std::string_view head = "layers.";
  if (!module.starts_with(prefix)) return std::nullopt;
  module.remove_prefix(prefix.size());
  if (!module.starts_with(head)) return std::nullopt;
  module.remove_prefix(head.size());
  size_t dot = module.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 6) return std::nullopt;
  // Digits only: no sign, no leading zeros, so each layer has one spelling.
  if (module[0] == '0' && dot > 1) return std::nullopt;
  LayerModule out;
  auto [end, ec] = std::from_chars(module.data(), module.data() + dot, out.layer);
  if (ec != std::errc() || end != module.data() + dot || out.layer < 0) return std::nullopt;
  out.rest = module.substr(dot + 1);
  return out;
}

std::optional<std::string> CanonicalFromHfModule(std::string_view module) {
  for (const auto& [from, to] : kHfGlobalModules) {
    if (module == from) return std::string(to);
  }
  return MapLayerModule(module, "model.", kHfLayerModules);
}

std::optional<std::string> CanonicalFromTorchtuneModule(std::string_view module) {
  return MapLayerModule(module, "", kTorchtuneLayerModules);
}

}  // namespace lorashare

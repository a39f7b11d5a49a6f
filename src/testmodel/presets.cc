#include "testmodel/presets.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "llm/special_tokens.h"

namespace lorashare {
namespace {

// Qwen2/Qwen3's added tokens, numbered after the base vocabulary.
std::vector<std::string> QwenSpecialTokens() {
  return {"<|endoftext|>",
          "<|im_start|>",
          "<|im_end|>",
          "<|object_ref_start|>",
          "<|object_ref_end|>",
          "<|box_start|>",
          "<|box_end|>",
          "<|quad_start|>",
          "<|quad_end|>",
          "<|vision_start|>",
          "<|vision_end|>",
          "<|vision_pad|>",
          "<|image_pad|>",
          "<|video_pad|>",
          "<tool_call>",
          "</tool_call>",
          "<|fim_prefix|>",
          "<|fim_middle|>",
          "<|fim_suffix|>",
          "<|fim_pad|>",
          "<|repo_name|>",
          "<|file_sep|>",
          "<tool_response>",
          "</tool_response>",
          "<think>",
          "</think>"};
}

// The sizes that differ between presets of one architecture.
struct Shape {
  int32_t dim, layers, heads, kv_heads, head_dim, hidden, vocab, max_context;
};

ModelConfig ConfigOf(Architecture arch, const Shape& shape) {
  ModelConfig c;
  c.arch = arch;
  c.dim = shape.dim;
  c.n_layers = shape.layers;
  c.n_heads = shape.heads;
  c.n_kv_heads = shape.kv_heads;
  c.head_dim = shape.head_dim;
  c.hidden_dim = shape.hidden;
  c.vocab_size = shape.vocab;
  c.max_context = shape.max_context;
  c.tied_embeddings = true;
  return c;
}

// Llama 3.2: rope theta 500000 with Llama 3 scaling (factor 32), the 256
// special tokens after the base vocabulary.
ModelPreset Llama(std::string name, std::string description, Shape shape) {
  const int32_t base_vocab = shape.vocab - 256;
  ModelPreset p{std::move(name),
                std::move(description),
                ConfigOf(Architecture::kLlama, shape),
                TokenizerFormat::kTiktoken,
                base_vocab,
                Llama3SpecialTokens(),
                {}};
  p.config.norm_eps = 1e-5f;
  p.config.rope_theta = 500000.0f;
  p.config.rope_scaling = {true, 32.0f, 1.0f, 4.0f, 8192};
  p.facts.bos_id = base_vocab;                         // <|begin_of_text|>
  p.facts.eos_ids = {base_vocab + 1, base_vocab + 9};  // <|end_of_text|>, <|eot_id|>
  return p;
}

// Qwen3: per-head q/k norm, rope theta 10^6, the added tokens after the base
// vocabulary and the embedding padded beyond them.
ModelPreset Qwen3(std::string name, std::string description, Shape shape, int32_t base_vocab) {
  ModelPreset p{std::move(name),
                std::move(description),
                ConfigOf(Architecture::kQwen3, shape),
                TokenizerFormat::kHfTokenizerJson,
                base_vocab,
                QwenSpecialTokens(),
                {}};
  p.config.norm_eps = 1e-6f;
  p.config.rope_theta = 1000000.0f;
  p.config.qk_norm = true;
  p.facts.bos_id = base_vocab;         // <|endoftext|>
  p.facts.eos_ids = {base_vocab + 2};  // <|im_end|>
  return p;
}

std::vector<ModelPreset> AllModelPresets() {
  // Shapes: {dim, layers, heads, kv_heads, head_dim, hidden, vocab, max_context}.
  return {
      Llama("tiny", "Llama-3-shaped, 2 layers, dim 64 (unit tests)",
            {64, 2, 4, 2, 16, 192, 768, 512}),
      Qwen3("tiny-qwen3", "Qwen3-shaped, 2 layers, dim 64, head_dim 32 (unit tests)",
            {64, 2, 4, 2, 32, 192, 640, 512}, 512),
      Llama("stories15m", "stories15M-sized Llama (dim 288, 6 layers, vocab 32000)",
            {288, 6, 6, 6, 48, 768, 32000, 2048}),
      Llama("llama-3.2-1b", "Llama-3.2-1B shape (dim 2048, 16 layers, vocab 128256)",
            {2048, 16, 32, 8, 64, 8192, 128256, 131072}),
      Qwen3("qwen3-0.6b", "Qwen3-0.6B shape (dim 1024, 28 layers, vocab 151936)",
            {1024, 28, 16, 8, 128, 3072, 151936, 40960}, 151643),
  };
}

std::vector<AdapterPreset> AllAdapterPresets() {
  return {
      {"demo",
       "the reference demo's adapter: r=64, alpha=128 on q/v/o",
       64,
       128.0f,
       false,
       {"q_proj", "v_proj", "o_proj"}},
      {"small", "r=8, alpha=16 on q/v", 8, 16.0f, false, {"q_proj", "v_proj"}},
      {"all",
       "r=16, alpha=32, rsLoRA, on all seven projections",
       16,
       32.0f,
       true,
       {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}},
  };
}

template <typename Preset>
Result<Preset> FindByName(const std::vector<Preset>& presets, std::string_view name,
                          std::string_view kind) {
  std::vector<std::string> names;
  for (const auto& p : presets) {
    if (p.name == name) return p;
    names.push_back(p.name);
  }
  return MakeError(ErrorCode::kInvalidArgument, "unknown {} preset '{}' (known: {})", kind, name,
                   fmt::join(names, ", "));
}

template <typename Preset>
std::vector<std::string> NamesOf(const std::vector<Preset>& presets) {
  std::vector<std::string> names;
  for (const auto& p : presets) names.push_back(p.name);
  return names;
}

}  // namespace

Result<ModelPreset> FindModelPreset(std::string_view name) {
  return FindByName(AllModelPresets(), name, "model");
}

Result<AdapterPreset> FindAdapterPreset(std::string_view name) {
  return FindByName(AllAdapterPresets(), name, "adapter");
}

std::vector<std::string> ModelPresetNames() { return NamesOf(AllModelPresets()); }
std::vector<std::string> AdapterPresetNames() { return NamesOf(AllAdapterPresets()); }

}  // namespace lorashare

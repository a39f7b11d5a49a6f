// Meta checkpoint directories (Llama 3.x as Meta publishes them):
// params.json + consolidated.00.pth, tensors already under canonical names
// except that wq/wk rows are in Meta's interleaved RoPE order.
#include <cmath>
#include <filesystem>

#include "import/checkpoint_builder.h"
#include "import/json_object.h"
#include "import/tensor_reorder.h"
#include "import/torch_archive.h"

namespace lorashare {
namespace {

namespace fs = std::filesystem;

// params.json carries no context length unless max_seq_len is given; 8192 is
// the original context of Llama 3 (the one its RoPE scaling is relative to).
constexpr int32_t kDefaultMaxContext = 8192;
// Llama 3's tiktoken vocabulary: its special token ids are fixed.
constexpr int32_t kLlama3VocabSize = 128256;

// Meta's FeedForward: hidden = int(2 * 4 * dim / 3), scaled by
// ffn_dim_multiplier, rounded up to a multiple of multiple_of.
Result<int32_t> HiddenDim(const JsonObject& params, int32_t dim) {
  LS_ASSIGN_OR_RETURN(int32_t multiple_of, params.Int32("multiple_of"));
  if (multiple_of <= 0) {
    return MakeError(ErrorCode::kCorrupt, "{}: field \"multiple_of\" must be positive",
                     params.source());
  }
  int64_t hidden = 2 * (4 * int64_t{dim}) / 3;
  if (params.Has("ffn_dim_multiplier")) {
    LS_ASSIGN_OR_RETURN(double multiplier, params.Number("ffn_dim_multiplier"));
    hidden = static_cast<int64_t>(multiplier * static_cast<double>(hidden));
  }
  hidden = multiple_of * ((hidden + multiple_of - 1) / multiple_of);
  if (hidden <= 0 || hidden > INT32_MAX) {
    return MakeError(ErrorCode::kCorrupt, "{}: feed-forward size {} is out of range",
                     params.source(), hidden);
  }
  return static_cast<int32_t>(hidden);
}

Result<ModelConfig> ParseParams(const JsonObject& params, const TorchArchive& weights) {
  ModelConfig config;
  config.arch = Architecture::kLlama;
  LS_ASSIGN_OR_RETURN(config.dim, params.Int32("dim"));
  LS_ASSIGN_OR_RETURN(config.n_layers, params.Int32("n_layers"));
  LS_ASSIGN_OR_RETURN(config.n_heads, params.Int32("n_heads"));
  LS_ASSIGN_OR_RETURN(config.n_kv_heads, params.Int32Or("n_kv_heads", config.n_heads));
  if (config.n_heads <= 0) {
    return MakeError(ErrorCode::kCorrupt, "{}: field \"n_heads\" must be positive",
                     params.source());
  }
  config.head_dim = config.dim / config.n_heads;
  LS_ASSIGN_OR_RETURN(config.hidden_dim, HiddenDim(params, config.dim));
  // Llama 2's params.json says -1: the vocabulary is the embedding's height.
  LS_ASSIGN_OR_RETURN(config.vocab_size, params.Int32Or("vocab_size", -1));
  const TensorRef* embeddings = weights.Find("tok_embeddings.weight");
  if (config.vocab_size <= 0 && embeddings != nullptr && !embeddings->shape.empty() &&
      embeddings->shape[0] <= INT32_MAX) {
    config.vocab_size = static_cast<int32_t>(embeddings->shape[0]);
  }
  LS_ASSIGN_OR_RETURN(config.max_context, params.Int32Or("max_seq_len", kDefaultMaxContext));
  LS_ASSIGN_OR_RETURN(double eps, params.NumberOr("norm_eps", 1e-5));
  LS_ASSIGN_OR_RETURN(double theta, params.NumberOr("rope_theta", 10000.0));
  config.norm_eps = static_cast<float>(eps);
  config.rope_theta = static_cast<float>(theta);
  LS_ASSIGN_OR_RETURN(bool scaled, params.BoolOr("use_scaled_rope", false));
  if (scaled) {
    // Llama 3.1's scaling (apply_scaling in Meta's reference code). The factor
    // is 8 unless given as "rope_scale_factor" (ExecuTorch's ModelArgs field;
    // Llama 3.2 uses 32).
    LS_ASSIGN_OR_RETURN(double factor, params.NumberOr("rope_scale_factor", 8.0));
    config.rope_scaling = {.enabled = true,
                           .factor = static_cast<float>(factor),
                           .low_freq_factor = 1.0f,
                           .high_freq_factor = 4.0f,
                           .original_max_position = 8192};
  }
  config.tied_embeddings = weights.Find("output.weight") == nullptr;
  LS_RETURN_IF_ERROR(config.Validate(params.source()));
  return config;
}

TokenizerFacts Llama3Facts(const ModelConfig& config) {
  TokenizerFacts facts;
  if (config.vocab_size == kLlama3VocabSize) {
    facts.bos_id = 128000;                     // <|begin_of_text|>
    facts.eos_ids = {128001, 128008, 128009};  // <|end_of_text|>, <|eom_id|>, <|eot_id|>
  }
  return facts;
}

}  // namespace

Result<std::unique_ptr<Checkpoint>> OpenMetaCheckpoint(const std::string& dir_name) {
  const fs::path dir(dir_name);
  LS_ASSIGN_OR_RETURN(JsonObject params, JsonObject::Load((dir / "params.json").string()));
  const std::string weights_path = (dir / "consolidated.00.pth").string();
  std::error_code ec;
  if (fs::exists(dir / "consolidated.01.pth", ec)) {
    return MakeError(ErrorCode::kUnsupported,
                     "{}: model-parallel shards (consolidated.01.pth, ...) are not supported",
                     dir_name);
  }
  LS_ASSIGN_OR_RETURN(TorchArchive weights, TorchArchive::Open(weights_path));
  LS_ASSIGN_OR_RETURN(ModelConfig config, ParseParams(params, weights));

  std::vector<ImportedTensor> tensors;
  for (const TensorRef& tensor : weights.tensors()) {
    if (tensor.name == "rope.freqs") continue;  // Llama 2's precomputed RoPE table
    ImportedTensor imported{tensor, fmt::format("{}: {}", weights_path, tensor.name)};
    const bool q = tensor.name.ends_with(".attention.wq.weight");
    const bool k = tensor.name.ends_with(".attention.wk.weight");
    if ((q || k) && tensor.shape.size() == 2) {
      auto permuted = ReorderRopeRows(tensor, config.head_dim, RopeRowOrder::kHalves);
      if (!permuted.ok()) return permuted.error().WithContext(imported.origin);
      imported.tensor = std::move(permuted).value();
    }
    tensors.push_back(std::move(imported));
  }
  return CheckpointBuilder::Build(dir_name, config, Llama3Facts(config), std::move(tensors));
}

}  // namespace lorashare

#include "format/model_config.h"

namespace lorashare {

std::string_view ArchitectureName(Architecture arch) {
  switch (arch) {
    case Architecture::kLlama:
      return "llama";
    case Architecture::kQwen3:
      return "qwen3";
  }
  return "unknown";
}

Status ModelConfig::Validate(std::string_view source) const {
  auto positive = [&](int64_t value, std::string_view field) -> Status {
    if (value <= 0) {
      return MakeError(ErrorCode::kCorrupt, "{}: {} must be positive, got {}", source, field,
                       value);
    }
    return OkStatus();
  };
  LS_RETURN_IF_ERROR(positive(dim, "hidden_size (dim)"));
  LS_RETURN_IF_ERROR(positive(n_layers, "num_hidden_layers (n_layers)"));
  LS_RETURN_IF_ERROR(positive(n_heads, "num_attention_heads (n_heads)"));
  LS_RETURN_IF_ERROR(positive(n_kv_heads, "num_key_value_heads (n_kv_heads)"));
  LS_RETURN_IF_ERROR(positive(head_dim, "head_dim"));
  LS_RETURN_IF_ERROR(positive(hidden_dim, "intermediate_size (hidden_dim)"));
  LS_RETURN_IF_ERROR(positive(vocab_size, "vocab_size"));
  LS_RETURN_IF_ERROR(positive(max_context, "max_position_embeddings"));
  if (n_heads % n_kv_heads != 0) {
    return MakeError(ErrorCode::kCorrupt,
                     "{}: num_attention_heads ({}) is not a multiple of num_key_value_heads ({})",
                     source, n_heads, n_kv_heads);
  }
  if (head_dim % 2 != 0) {
    return MakeError(ErrorCode::kCorrupt, "{}: head_dim ({}) must be even for RoPE", source,
                     head_dim);
  }
  if (!(norm_eps > 0.0f) || !(rope_theta > 0.0f)) {
    return MakeError(ErrorCode::kCorrupt, "{}: rms_norm_eps and rope_theta must be positive",
                     source);
  }
  if (rope_scaling.enabled &&
      (!(rope_scaling.factor > 0.0f) || rope_scaling.original_max_position <= 0 ||
       !(rope_scaling.high_freq_factor > rope_scaling.low_freq_factor))) {
    return MakeError(ErrorCode::kCorrupt, "{}: rope_scaling has invalid factors", source);
  }
  return OkStatus();
}

}  // namespace lorashare

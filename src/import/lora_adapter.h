// LoraAdapter: a LoRA fine-tune's configuration and A/B matrices, under
// canonical target names ("layers.N.attention.wq", "layers.N.feed_forward.w1",
// ...; see checkpoint.h), whatever format it came in.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "format/model_config.h"
#include "import/checkpoint.h"

namespace lorashare {

struct LoraConfig {
  int32_t rank = 0;
  float alpha = 0;
  bool use_rslora = false;
  bool fan_in_fan_out = false;
  std::vector<std::string> target_modules;  // as written: q_proj, v_proj, ...
  std::string base_model;                   // base_model_name_or_path, may be empty

  // alpha / rank, or alpha / sqrt(rank) with rsLoRA.
  float scale() const;
};

struct LoraPair {
  std::string target;  // canonical, e.g. "layers.3.attention.wq"
  TensorRef a;         // (rank, in_features)
  TensorRef b;         // (out_features, rank)
};

class LoraAdapter {
 public:
  // `path` is a PEFT directory (adapter_config.json + adapter_model.safetensors
  // or adapter_model.bin/.pt), or an adapter weights file (.safetensors / .pt)
  // with adapter_config.json beside it (torchtune / the reference demo).
  static Result<std::unique_ptr<LoraAdapter>> Open(const std::string& path);

  const std::string& path() const { return path_; }
  const LoraConfig& config() const { return config_; }
  // Sorted by layer, then by projection order (wq, wk, wv, wo, w1, w2, w3).
  const std::vector<LoraPair>& pairs() const { return pairs_; }

  // Checks every pair against the base: the target exists and A/B shapes match
  // the projection's (in, out) and the rank. Errors name the tensor.
  // torchtune/Meta adapters store q/k B rows in Meta's interleaved RoPE order;
  // putting them into Hugging Face order needs the base's head_dim, so that
  // happens here: call this before using pairs().
  Status CheckAgainst(const ModelConfig& base, const std::string& base_source);

  // The file the A/B matrices came from.
  const std::string& weights_path() const { return weights_path_; }

 private:
  friend class LoraAdapterBuilder;
  LoraAdapter() = default;

  std::string path_;
  std::string weights_path_;
  LoraConfig config_;
  std::vector<LoraPair> pairs_;
  bool rope_rows_interleaved_ = false;  // q/k B rows still in Meta order
};

}  // namespace lorashare

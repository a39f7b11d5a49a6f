// Checkpoint: a base model's configuration and weights, whatever format they
// came in, under lorashare's canonical tensor names.
//
// Canonical names (Meta style):
//   tok_embeddings.weight, norm.weight, output.weight (absent when tied),
//   layers.N.attention_norm.weight, layers.N.ffn_norm.weight,
//   layers.N.attention.{wq,wk,wv,wo}.weight,
//   layers.N.attention.{q_norm,k_norm}.weight (Qwen3),
//   layers.N.feed_forward.{w1,w2,w3}.weight (gate, down, up).
// q/k projection rows are always in the Hugging Face rotate-half RoPE order;
// importers of Meta checkpoints permute them on the way in.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "format/dtype.h"
#include "format/model_config.h"

namespace lorashare {

// A tensor's metadata and bytes. `bytes` points into a mapped file or into
// `storage`; `keep_alive` owns whichever it is.
struct TensorRef {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::span<const uint8_t> bytes;
  std::shared_ptr<const void> keep_alive;

  int64_t element_count() const;
  // kInvalidArgument naming `file` and the tensor unless `bytes` is exactly
  // what the shape and dtype need.
  Status CheckByteSize(std::string_view file) const;
};

class Checkpoint {
 public:
  // Opens a Hugging Face directory (config.json + model.safetensors or
  // sharded model-*.safetensors with model.safetensors.index.json) or a Meta
  // directory (params.json + consolidated.00.pth). Checks every tensor the
  // architecture needs is present with the shape the config implies.
  static Result<std::unique_ptr<Checkpoint>> Open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const ModelConfig& config() const { return config_; }
  const TokenizerFacts& tokenizer_facts() const { return tokenizer_facts_; }
  // Tokenizer file found in the directory (tokenizer.json or tokenizer.model),
  // empty if none.
  const std::string& tokenizer_path() const { return tokenizer_path_; }
  const std::vector<TensorRef>& tensors() const { return tensors_; }
  const TensorRef* Find(std::string_view canonical_name) const;

 private:
  friend class CheckpointBuilder;
  Checkpoint() = default;

  std::string dir_;
  ModelConfig config_;
  TokenizerFacts tokenizer_facts_;
  std::string tokenizer_path_;
  std::vector<TensorRef> tensors_;
};

}  // namespace lorashare

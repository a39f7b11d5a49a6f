// GGUF writer: a Checkpoint (and a LoRA adapter) as llama.cpp GGUF v3 files, so
// that llama.cpp, an independent implementation, can run the same weights that
// lorashare exports and the outputs can be compared.
//
// The files follow what llama.cpp's convert_hf_to_gguf.py and
// convert_lora_to_gguf.py write:
// - architecture "llama" or "qwen3"; tensors token_embd, output_norm, output
//   (left out when the embeddings are tied), blk.N.{attn_norm, attn_q, attn_k,
//   attn_v, attn_output, attn_q_norm, attn_k_norm, ffn_norm, ffn_gate, ffn_up,
//   ffn_down}.weight; dimensions in ggml order (innermost first).
// - "llama" applies RoPE to adjacent pairs, so the rows of q/k projections
//   (and of LoRA B matrices on them) are permuted from the Hugging Face
//   rotate-half order, as LlamaModel.permute does. "qwen3" uses NEOX RoPE on
//   the unpermuted rows.
// - Llama 3 rope scaling becomes a rope_freqs.weight tensor of per-frequency
//   divisors (head_dim / 2 floats).
// - The vocabulary is SYNTHETIC: a gpt2-style BPE vocabulary of vocab_size
//   tokens (the 256 byte-level tokens first, then unique placeholder strings),
//   one merge (llama.cpp refuses a BPE vocabulary without merges), and the
//   checkpoint's bos/eos ids. It is only good for feeding token ids directly;
//   text tokenized by llama.cpp with it means nothing.
// - Matrices can be stored as F32, F16, Q8_0 or Q4_0 (gguf_quant.h), the
//   types llama-quantize writes for those file types, with its choices for
//   the tensors it treats apart: norms and rope_freqs stay F32; a matrix
//   whose rows are not a multiple of 32 becomes F16; at Q4_0 the output
//   layer (token_embd when the embeddings are tied) is Q8_0. llama-quantize
//   makes it Q6_K, a type this writer does not produce; Q8_0 is the type it
//   falls back to for Q6_K, and matches lorashare's 8-bit per-channel output
//   layer beside 4-bit weights. An untied token_embd stays Q4_0, as there.
// - A LoRA file has general.type "adapter", adapter.type "lora" and
//   adapter.lora.alpha = scale * rank, so llama.cpp's alpha / rank reproduces
//   the adapter's scale (rsLoRA included). A is stored (rank, in), B (out, rank).
#pragma once

#include <span>
#include <string>

#include "base/result.h"
#include "format/dtype.h"
#include "format/model_config.h"
#include "import/checkpoint.h"
#include "import/lora_adapter.h"
#include "testmodel/gguf_quant.h"

namespace lorashare {

struct GgufOptions {
  // Type of the matrices (exceptions above). Norm weights are always f32, as
  // llama.cpp's converter writes them.
  GgmlType matrix_type = GgmlType::kF32;
};

// Writes the base model. Every tensor the config implies must be present with
// its shape; an unknown tensor name is refused.
Status WriteModelGguf(const std::string& path, const Checkpoint& ckpt,
                      const GgufOptions& options = {});
Status WriteModelGguf(const std::string& path, const ModelConfig& config,
                      const TokenizerFacts& tokenizer, std::span<const TensorRef> tensors,
                      const GgufOptions& options = {});

// Writes the adapter's A/B pairs (f32). All pairs must share one rank.
Status WriteLoraGguf(const std::string& path, const LoraAdapter& adapter, const Checkpoint& base);
Status WriteLoraGguf(const std::string& path, std::span<const LoraPair> pairs, float scale,
                     const ModelConfig& base);

}  // namespace lorashare

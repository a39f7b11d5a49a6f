// Row reorderings and transposes that importers apply on the way in; each
// returns a tensor with its own storage (the source stays untouched).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.h"
#include "import/checkpoint.h"

namespace lorashare {

// The two row orders of q/k projections: RoPE rotates pairs of rows, which are
// adjacent in Meta checkpoints and GGUF files (kInterleaved: 2i, 2i+1) and half a
// head apart in Hugging Face checkpoints (kHalves: i, i + head_dim/2).
enum class RopeRowOrder { kInterleaved, kHalves };

// Reorders the rows of each head of a [heads * head_dim, cols] matrix into
// `to` order from the other one: Hugging Face row h*hd + j*hd/2 + i is
// interleaved row h*hd + 2i + j (the view/transpose/reshape `permute` of
// transformers' convert_llama_weights_to_hf.py, and its inverse in llama.cpp's
// convert_hf_to_gguf.py). Meta and torchtune q/k weights (and LoRA B matrices
// on them) go to kHalves on import; GGUF and Meta writers go to kInterleaved.
Result<TensorRef> ReorderRopeRows(const TensorRef& tensor, int32_t head_dim, RopeRowOrder to);

// [rows, cols] -> [cols, rows].
Result<TensorRef> Transpose2d(const TensorRef& tensor);

}  // namespace lorashare

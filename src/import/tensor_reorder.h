// Row reorderings and transposes that importers apply on the way in; each
// returns a tensor with its own storage (the source stays untouched).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.h"
#include "import/checkpoint.h"

namespace lorashare {

// Meta (and torchtune) store each q/k head's rows with RoPE pairs interleaved
// (2i, 2i+1); Hugging Face stores the two halves of the head one after the
// other (i, i + head_dim/2). Reorders the rows of a [heads * head_dim, cols]
// matrix from Meta to HF order: HF row h*hd + j*hd/2 + i = Meta row
// h*hd + 2i + j, the view/transpose/reshape `permute` of transformers'
// convert_llama_weights_to_hf.py.
Result<TensorRef> PermuteMetaRopeRows(const TensorRef& tensor, int32_t head_dim);

// [rows, cols] -> [cols, rows].
Result<TensorRef> Transpose2d(const TensorRef& tensor);

}  // namespace lorashare

// Embedding lookup: row tokens[t] of a (vocab, dim) table in any plain dtype,
// widened to f32, or in a packed quantized layout, dequantized (only the rows
// looked up are read, so a table shared with the output layer stays packed).
// Token ids must be in [0, table.rows) (callers check).
#pragma once

#include <cstdint>
#include <span>

#include "kernels/matrix.h"

namespace lorashare {

// `table` may hold any plain dtype (not only the matmul ones) or a packed layout.
void Embedding(const MatrixView& table, std::span<const int32_t> tokens, float* out);
void EmbeddingReference(const MatrixView& table, std::span<const int32_t> tokens, float* out);

}  // namespace lorashare

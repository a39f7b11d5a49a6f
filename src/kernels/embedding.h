// Embedding lookup: row tokens[t] of a (vocab, dim) table in any plain dtype,
// widened to f32. Token ids must be in [0, table.rows) (callers check).
#pragma once

#include <cstdint>
#include <span>

#include "kernels/matrix.h"

namespace lorashare {

// `table` may hold any plain dtype (not only the matmul ones).
void Embedding(const MatrixView& table, std::span<const int32_t> tokens, float* out);
void EmbeddingReference(const MatrixView& table, std::span<const int32_t> tokens, float* out);

}  // namespace lorashare

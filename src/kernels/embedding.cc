#include "kernels/embedding.h"

#include "kernels/convert.h"
#include "kernels/quantize.h"

namespace lorashare {
namespace {

template <typename Convert>
void Lookup(const MatrixView& table, std::span<const int32_t> tokens, float* out, Convert convert) {
  if (table.layout != WeightLayout::kPlain) {
    for (size_t t = 0; t < tokens.size(); ++t)
      DequantizeRow(table, tokens[t], out + t * table.cols);
    return;
  }
  const size_t row_bytes = static_cast<size_t>(table.cols) * DTypeSize(table.dtype);
  for (size_t t = 0; t < tokens.size(); ++t) {
    const auto* row = static_cast<const uint8_t*>(table.data) + tokens[t] * row_bytes;
    convert(table.dtype, row, static_cast<size_t>(table.cols), out + t * table.cols);
  }
}

}  // namespace

void Embedding(const MatrixView& table, std::span<const int32_t> tokens, float* out) {
  Lookup(table, tokens, out, ConvertToF32);
}

void EmbeddingReference(const MatrixView& table, std::span<const int32_t> tokens, float* out) {
  Lookup(table, tokens, out, ConvertToF32Reference);
}

}  // namespace lorashare

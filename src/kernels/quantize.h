// Weight quantization into the packed layouts of format/weight_layout.h, and
// the scalar definition of the quantized matmul that the SIMD kernels match.
//
// Weights are quantized symmetrically: per row (kQ8Row, q in [-127, 127],
// scale = max|w| / 127) or per group of columns (kQ4Group, q in [-8, 7]; the
// scale is chosen so the value of largest magnitude maps to -8, which uses
// the whole int4 range for it: scale = -m / 8 where m is that signed value).
//
// Activations are quantized dynamically, per token (row of x), symmetrically
// to int8: sx = max|x| / 127 and xq = round-to-nearest-even(x * inv), where
// inv = 1 / sx in float (sx = 0 and xq = 0 for an all-zero row). Kernels use
// the same float operations so their xq equal the reference's exactly. The matmul is then, per
// token and output row r:
//   kQ8Row:   y = sx * scale[r] * sum_c q[r][c] * xq[c]
//   kQ4Group: y = sx * sum_g scale[r][g] * sum_{c in g} (u4[r][c] - 8) * xq[c]
// with exact integer sums inside a row (kQ8Row) or group (kQ4Group).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "base/result.h"
#include "format/weight_layout.h"
#include "kernels/matmul.h"
#include "kernels/matrix.h"

namespace lorashare {

// Packs a row-major f32 matrix [rows, cols] into `layout`.
Result<std::vector<uint8_t>> PackMatrix(const float* w, int64_t rows, int64_t cols,
                                        WeightLayout layout, int64_t group_size);

// Row `row` of `w` (any layout and float dtype) as f32: out[0, w.cols).
void DequantizeRow(const MatrixView& w, int64_t row, float* out);

// One activation quantized with inv = 1 / sx: round-to-nearest-even(x * inv)
// clamped to [-127, 127] (0 for NaN).
inline int8_t QuantizeInt8(float x, float inverse) {
  const float q = std::nearbyint(x * inverse);
  return std::isnan(q) ? int8_t{0} : static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f));
}

// The per-token activation quantization above: writes xq[0, padded_cols)
// (zeros past cols) and returns sx.
float QuantizeActivationRow(const float* x, int64_t cols, int64_t padded_cols, int8_t* xq);

// The quantized matmul above in plain scalar code (integer sums, then double):
// the reference for the SIMD kernels. `w` must have a quantized layout.
void MatMulQuantizedReference(const MatrixView& w, const MatMulArgs& args);

}  // namespace lorashare

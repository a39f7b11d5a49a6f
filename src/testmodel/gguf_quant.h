// ggml tensor types the GGUF writer stores matrices as, and ggml's block
// quantization for the two quantized ones, bit for bit as llama.cpp's
// reference quantizers (quantize_row_q8_0_ref / quantize_row_q4_0_ref in
// ggml-quants.c, which llama-quantize uses without an importance matrix):
// - Q8_0: blocks of 32 values along a row; 2 bytes f16 scale d = amax / 127,
//   then 32 int8 q = round(x / d) (half away from zero); x ~ d * q.
// - Q4_0: blocks of 32; d = m / -8 where m is the block's value of largest
//   magnitude (sign kept), 2 bytes f16 d, then 16 bytes: q = min(15,
//   trunc(x / d + 8.5)), element j in the low nibble of byte j, element
//   j + 16 in its high nibble; x ~ d * (q - 8).
// In both, x / d is computed as x * (1 / d) with the f32 d, before d is
// rounded to f16, as ggml does.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace lorashare {

// Values are ggml_type numbers (ggml.h).
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ8_0 = 8,
};

// "f32", "f16", "q8_0", "q4_0".
std::string_view GgmlTypeName(GgmlType type);
std::optional<GgmlType> GgmlTypeFromName(std::string_view name);

// Elements per block (1 for f32/f16, 32 for the quantized types) and bytes
// per block.
int64_t GgmlBlockElements(GgmlType type);
int64_t GgmlBlockBytes(GgmlType type);

// Bytes of a row of `row_elements` values; the row length must be a
// multiple of the block size.
int64_t GgmlRowBytes(GgmlType type, int64_t row_elements);

// Encodes `values` (a whole number of blocks) as `type`.
Result<std::vector<uint8_t>> GgmlEncode(GgmlType type, std::span<const float> values);

// Decodes `bytes` of `type` back to f32, as ggml's to_float does.
Result<std::vector<float>> GgmlDecode(GgmlType type, std::span<const uint8_t> bytes);

}  // namespace lorashare

// WeightFormat and QuantizationScheme: how an export stores each class of
// weights (flags --quantize, --group-size, --embedding-quantize, --lora-dtype).
//
//   --quantize f32|bf16|f16   weight matrices plain in that type
//   --quantize int8           linear weights kQ8Row (int8 per output channel)
//   --quantize 8da4w          linear weights kQ4Group (int4, --group-size 32,
//                             64 or 128), for int8 dynamic activations
// Linear weights are q, k, v, o, gate, up, down and an untied output layer.
// Norm weights always stay f32.
//
// The embedding follows --embedding-quantize: "8,0" (kQ8Row, one scale per
// row), "4,32" / "4,64" / "4,128" (kQ4Group), or "none" (plain). Without the
// flag, plain modes keep it in their type and int8 / 8da4w store it as "8,0",
// as ExecuTorch's LoRA demo does for its quantized export
// (program-data-separation/export_lora.sh -q: qmode 8da4w, group_size 32,
// embedding_quantize "8,0"). A plain embedding in a quantized mode is f32.
//
// Tied embeddings: the output layer reads the embedding tensor itself when
// that is kQ8Row (one copy serves both, the 8-bit per-channel classifier) or
// when nothing is quantized; otherwise it gets its own kQ8Row tensor,
// "output.weight", packed from the same f32 table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "format/dtype.h"
#include "format/weight_layout.h"

namespace lorashare {

struct WeightFormat {
  WeightLayout layout = WeightLayout::kPlain;
  DType dtype = DType::kF32;  // element type: the plain type, or kU8 when packed
  int64_t group_size = 0;     // kQ4Group only

  // A quantized blob (kQ8Row, kQ4Group), stored as u8.
  bool packed() const { return IsQuantized(layout); }
  // "f32", "bf16", "q8row", "q4g32"...: the prefix of content keys.
  std::string Name() const;
  bool operator==(const WeightFormat&) const = default;
};

WeightFormat PlainFormat(DType dtype);
WeightFormat TiledFormat(DType dtype);
WeightFormat Q8RowFormat();
WeightFormat Q4GroupFormat(int64_t group_size);

struct QuantizationScheme {
  std::string mode = "f32";  // the --quantize value
  WeightFormat linear;
  WeightFormat embedding;
  DType lora_dtype = DType::kF32;

  // Tied models: whether the output layer reads the embedding tensor, and
  // otherwise the format of its own tensor (see above).
  bool OutputSharesEmbedding() const;
  WeightFormat TiedOutputFormat() const;
  // One line for reports: "8da4w: linear q4g32, embedding q8row (also the
  // tied output layer), LoRA f32".
  std::string Describe(bool tied_embeddings) const;
};

// The scheme the flags ask for. `group_size` and `embedding` are absent when
// the flag was not given. Errors (kInvalidArgument) name the flag and the
// values it accepts.
Result<QuantizationScheme> ParseQuantizationScheme(std::string_view quantize,
                                                   std::optional<int64_t> group_size,
                                                   std::optional<std::string_view> embedding,
                                                   std::string_view lora_dtype);

}  // namespace lorashare

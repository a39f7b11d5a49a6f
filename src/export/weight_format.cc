#include "export/weight_format.h"

#include <fmt/format.h>

namespace lorashare {
namespace {

constexpr int64_t kDefaultGroupSize = 32;

bool IsPlainFloat(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kBF16 || dtype == DType::kF16;
}

Result<WeightFormat> ParseEmbedding(std::string_view text, DType plain_dtype) {
  if (text == "none") return PlainFormat(plain_dtype);
  if (text == "8,0") return Q8RowFormat();
  for (int64_t group : {32, 64, 128}) {
    if (text == fmt::format("4,{}", group)) return Q4GroupFormat(group);
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "--embedding-quantize must be 8,0, 4,32, 4,64, 4,128 or none (bits,group "
                   "size; group 0 = one scale per row), got '{}'",
                   text);
}

}  // namespace

std::string WeightFormat::Name() const { return StoredFormatName(layout, dtype, group_size); }

WeightFormat PlainFormat(DType dtype) { return {WeightLayout::kPlain, dtype, 0}; }
WeightFormat TiledFormat(DType dtype) { return {WeightLayout::kTiled, dtype, 0}; }
WeightFormat Q8RowFormat() { return {WeightLayout::kQ8Row, DType::kU8, 0}; }
WeightFormat Q4GroupFormat(int64_t group_size) {
  return {WeightLayout::kQ4Group, DType::kU8, group_size};
}

bool QuantizationScheme::OutputSharesEmbedding() const {
  return embedding.layout == WeightLayout::kQ8Row || (!embedding.packed() && !linear.packed());
}

WeightFormat QuantizationScheme::TiedOutputFormat() const {
  return OutputSharesEmbedding() ? embedding : Q8RowFormat();
}

std::string QuantizationScheme::Describe(bool tied_embeddings) const {
  std::string output;
  if (!tied_embeddings) {
    output = fmt::format("output layer {}", linear.Name());
  } else if (OutputSharesEmbedding()) {
    output = "the embedding also serves the tied output layer";
  } else {
    output = fmt::format("tied output layer its own {}", TiedOutputFormat().Name());
  }
  return fmt::format("{}: linear {}, embedding {}, {}, norms f32, LoRA {}", mode, linear.Name(),
                     embedding.Name(), output, DTypeName(lora_dtype));
}

Result<QuantizationScheme> ParseQuantizationScheme(std::string_view quantize,
                                                   std::optional<int64_t> group_size,
                                                   std::optional<std::string_view> embedding,
                                                   std::string_view lora_dtype) {
  QuantizationScheme scheme;
  scheme.mode = std::string(quantize);
  DType plain_dtype = DType::kF32;
  if (quantize == "8da4w") {
    const int64_t group = group_size.value_or(kDefaultGroupSize);
    if (group != 32 && group != 64 && group != 128) {
      return MakeError(ErrorCode::kInvalidArgument, "--group-size must be 32, 64 or 128, got {}",
                       group);
    }
    scheme.linear = Q4GroupFormat(group);
    scheme.embedding = Q8RowFormat();
  } else if (quantize == "int8") {
    scheme.linear = Q8RowFormat();
    scheme.embedding = Q8RowFormat();
  } else if (auto dtype = DTypeFromName(quantize); dtype && IsPlainFloat(*dtype)) {
    plain_dtype = *dtype;
    scheme.linear = PlainFormat(plain_dtype);
    scheme.embedding = scheme.linear;
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--quantize must be 8da4w, int8, bf16, f16 or f32, got '{}'", quantize);
  }
  if (group_size && scheme.linear.layout != WeightLayout::kQ4Group) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--group-size applies to --quantize 8da4w only (got --quantize {})", quantize);
  }
  if (embedding) {
    LS_ASSIGN_OR_RETURN(scheme.embedding, ParseEmbedding(*embedding, plain_dtype));
  }
  auto lora = DTypeFromName(lora_dtype);
  if (!lora || (*lora != DType::kF32 && *lora != DType::kBF16)) {
    return MakeError(ErrorCode::kInvalidArgument, "--lora-dtype must be f32 or bf16, got '{}'",
                     lora_dtype);
  }
  scheme.lora_dtype = *lora;
  return scheme;
}

}  // namespace lorashare

#include "format/dtype.h"

#include <array>

namespace lorashare {
namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  size_t size;
  int8_t executorch;  // ScalarType (schema/scalar_type.fbs)
};

constexpr std::array<DTypeInfo, 10> kDTypes = {{
    {DType::kF32, "f32", 4, 6},
    {DType::kF16, "f16", 2, 5},
    {DType::kBF16, "bf16", 2, 15},
    {DType::kI8, "i8", 1, 1},
    {DType::kU8, "u8", 1, 0},
    {DType::kI16, "i16", 2, 2},
    {DType::kI32, "i32", 4, 3},
    {DType::kI64, "i64", 8, 4},
    {DType::kF64, "f64", 8, 7},
    {DType::kBool, "bool", 1, 11},
}};

const DTypeInfo& Info(DType dtype) { return kDTypes[static_cast<size_t>(dtype)]; }

}  // namespace

size_t DTypeSize(DType dtype) { return Info(dtype).size; }
std::string_view DTypeName(DType dtype) { return Info(dtype).name; }

std::optional<DType> DTypeFromName(std::string_view name) {
  for (const auto& info : kDTypes) {
    if (info.name == name) return info.dtype;
  }
  return std::nullopt;
}

int8_t ToExecuTorchScalarType(DType dtype) { return Info(dtype).executorch; }

std::optional<DType> FromExecuTorchScalarType(int8_t scalar_type) {
  for (const auto& info : kDTypes) {
    if (info.executorch == scalar_type) return info.dtype;
  }
  return std::nullopt;
}

}  // namespace lorashare

// DType: element types of stored tensors, and their ExecuTorch numbering.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lorashare {

enum class DType : uint8_t {
  kF32 = 0,
  kF16 = 1,
  kBF16 = 2,
  kI8 = 3,
  kU8 = 4,
  kI16 = 5,
  kI32 = 6,
  kI64 = 7,
  kF64 = 8,
  kBool = 9,
};

// Bytes per element.
size_t DTypeSize(DType dtype);
// Short lower-case name: "f32", "bf16", ...
std::string_view DTypeName(DType dtype);
std::optional<DType> DTypeFromName(std::string_view name);

// ExecuTorch ScalarType numbering, used in FlatTensor TensorLayout.scalar_type.
int8_t ToExecuTorchScalarType(DType dtype);
std::optional<DType> FromExecuTorchScalarType(int8_t scalar_type);

}  // namespace lorashare

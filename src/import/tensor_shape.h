// Sizes of tensor shapes read from untrusted files, checked for negative
// dimensions and overflow before anything is indexed with them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "format/dtype.h"

namespace lorashare {

// Product of the dimensions; `where` names the tensor in errors.
Result<uint64_t> ShapeElementCount(std::span<const int64_t> shape, std::string_view where);
Result<uint64_t> ShapeByteSize(std::span<const int64_t> shape, DType dtype, std::string_view where);
// "[2048, 64]"
std::string ShapeString(std::span<const int64_t> shape);

}  // namespace lorashare

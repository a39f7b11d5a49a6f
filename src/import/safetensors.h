// SafetensorsFile: a .safetensors file (Hugging Face's tensor container),
// mapped read-only; its tensors are zero-copy views into the mapping.
//
// Layout: u64 little-endian header length N, N bytes of JSON
//   {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..],
//    "data_offsets": [begin, end]}, ...}
// then the data section; offsets are relative to its start. Every entry is
// checked: known dtype, non-negative shape, byte size == elements * dtype
// size, tensors packed back to back without overlap covering the data section.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "import/checkpoint.h"

namespace lorashare {

class SafetensorsFile {
 public:
  static Result<SafetensorsFile> Open(const std::string& path);
  // Parses a whole file's bytes. `source` names it in errors; `keep_alive`
  // owns `bytes` and is shared by every TensorRef.
  static Result<SafetensorsFile> Parse(std::span<const uint8_t> bytes, const std::string& source,
                                       std::shared_ptr<const void> keep_alive);

  const std::string& source() const { return source_; }
  // In data-offset order.
  const std::vector<TensorRef>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const TensorRef* Find(std::string_view name) const;

 private:
  std::string source_;
  std::vector<TensorRef> tensors_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// The safetensors dtype tag ("F32", "BF16", ...) of a dtype, and back.
std::string_view SafetensorsDTypeName(DType dtype);
std::optional<DType> DTypeFromSafetensorsName(std::string_view name);

}  // namespace lorashare

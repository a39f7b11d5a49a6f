// GgufFile: a bounds-checked reader of GGUF v2/v3 files (llama.cpp's model
// format): the header, every metadata value (all scalar types, strings and
// arrays, nested), and the tensor table with each tensor's bytes.
//
// Layout: "GGUF", u32 version, u64 tensor count, u64 metadata count, the
// metadata (key string, u32 type, value), the tensor infos (name, u32 n_dims,
// u64 dims[n_dims] fastest-varying first, u32 ggml type, u64 offset), then
// the data section at the next multiple of general.alignment (default 32).
// Strings are a u64 length and UTF-8 bytes. Values view the mapped file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/mapped_file.h"
#include "base/result.h"

namespace lorashare {

enum class GgufType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

std::string_view GgufTypeName(GgufType type);

struct GgufValue {
  GgufType type = GgufType::kU8;
  GgufType element_type = GgufType::kU8;  // arrays only
  // Integers of every width and signedness widen to int64_t (u64 above
  // INT64_MAX keeps its bits), floats to double.
  std::variant<int64_t, double, bool, std::string_view, std::vector<GgufValue>> value;

  bool is_integer() const;
};

struct GgufTensorInfo {
  std::string_view name;
  std::vector<uint64_t> dims;  // fastest-varying first, as stored
  uint32_t ggml_type = 0;
  uint64_t offset = 0;  // from the start of the data section
  // The tensor's bytes; empty when its ggml type's size is not known here.
  std::span<const uint8_t> data;
};

class GgufFile {
 public:
  static Result<GgufFile> Open(const std::string& path);
  // Parses bytes that `keep_alive` owns; `source` names them in messages.
  static Result<GgufFile> Parse(std::span<const uint8_t> bytes, const std::string& source,
                                std::shared_ptr<const void> keep_alive = nullptr);

  uint32_t version() const { return version_; }
  const std::string& source() const { return source_; }
  const std::vector<std::pair<std::string_view, GgufValue>>& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  uint64_t data_offset() const { return data_offset_; }

  const GgufValue* Find(std::string_view key) const;
  // Typed lookups; a missing key or a value of another type is an error
  // naming the file and the key.
  Result<std::string_view> GetString(std::string_view key) const;
  Result<int64_t> GetInt(std::string_view key) const;
  Result<bool> GetBool(std::string_view key) const;
  Result<std::vector<std::string_view>> GetStringArray(std::string_view key) const;
  Result<std::vector<int64_t>> GetIntArray(std::string_view key) const;
  Result<std::vector<double>> GetFloatArray(std::string_view key) const;

 private:
  Result<const GgufValue*> Require(std::string_view key) const;
  Result<const std::vector<GgufValue>*> RequireArray(std::string_view key,
                                                     std::string_view wanted) const;

  std::string source_;
  std::shared_ptr<const void> keep_alive_;
  uint32_t version_ = 0;
  std::vector<std::pair<std::string_view, GgufValue>> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  uint64_t data_offset_ = 0;
};

// Bytes of a tensor of `elements` elements of ggml type `ggml_type`, or
// nullopt for a type this reader does not know or a count not a whole number
// of its blocks.
std::optional<uint64_t> GgmlTensorBytes(uint32_t ggml_type, uint64_t elements);

}  // namespace lorashare

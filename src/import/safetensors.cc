#include "import/safetensors.h"

#include <algorithm>
#include <array>
#include <utility>

#include "base/byte_reader.h"
#include "base/mapped_file.h"
#include "import/json_object.h"
#include "import/tensor_shape.h"

namespace lorashare {
namespace {

// The reference implementation refuses headers above 100 MB; so do we.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

constexpr std::array<std::pair<DType, std::string_view>, 10> kDTypeNames = {{
    {DType::kF32, "F32"},
    {DType::kF16, "F16"},
    {DType::kBF16, "BF16"},
    {DType::kI8, "I8"},
    {DType::kU8, "U8"},
    {DType::kI16, "I16"},
    {DType::kI32, "I32"},
    {DType::kI64, "I64"},
    {DType::kF64, "F64"},
    {DType::kBool, "BOOL"},
}};

struct Entry {
  TensorRef tensor;
  uint64_t begin = 0;
  uint64_t end = 0;
};

Result<std::vector<uint64_t>> ReadUnsignedList(const nlohmann::json& value, std::string_view what,
                                               const std::string& where) {
  if (!value.is_array()) {
    return MakeError(ErrorCode::kCorrupt, "{}: {} must be a list of integers", where, what);
  }
  std::vector<uint64_t> out;
  for (const auto& item : value) {
    if (item.is_number_unsigned()) {
      out.push_back(item.get<uint64_t>());
    } else {
      return MakeError(ErrorCode::kCorrupt, "{}: {} must hold non-negative integers, got {}", where,
                       what, item.dump());
    }
  }
  return out;
}

Result<Entry> ParseEntry(const std::string& name, const nlohmann::json& value,
                         const std::string& source) {
  const std::string where = fmt::format("{}: tensor \"{}\"", source, name);
  if (!value.is_object()) {
    return MakeError(ErrorCode::kCorrupt, "{}: entry is not an object", where);
  }
  auto dtype_it = value.find("dtype");
  if (dtype_it == value.end() || !dtype_it->is_string()) {
    return MakeError(ErrorCode::kCorrupt, "{}: missing or non-string \"dtype\"", where);
  }
  auto dtype = DTypeFromSafetensorsName(dtype_it->get<std::string>());
  if (!dtype) {
    return MakeError(ErrorCode::kUnsupported, "{}: dtype {} is not supported", where,
                     dtype_it->get<std::string>());
  }
  auto shape_it = value.find("shape");
  auto offsets_it = value.find("data_offsets");
  if (shape_it == value.end() || offsets_it == value.end()) {
    return MakeError(ErrorCode::kCorrupt, "{}: needs \"shape\" and \"data_offsets\"", where);
  }
  LS_ASSIGN_OR_RETURN(auto dims, ReadUnsignedList(*shape_it, "shape", where));
  LS_ASSIGN_OR_RETURN(auto offsets, ReadUnsignedList(*offsets_it, "data_offsets", where));
  if (offsets.size() != 2 || offsets[0] > offsets[1]) {
    return MakeError(ErrorCode::kCorrupt, "{}: data_offsets must be [begin, end] with begin <= end",
                     where);
  }
  Entry entry;
  entry.tensor.name = name;
  entry.tensor.dtype = *dtype;
  for (uint64_t dim : dims) {
    if (dim > static_cast<uint64_t>(INT64_MAX)) {
      return MakeError(ErrorCode::kCorrupt, "{}: shape dimension {} is too large", where, dim);
    }
    entry.tensor.shape.push_back(static_cast<int64_t>(dim));
  }
  LS_ASSIGN_OR_RETURN(uint64_t byte_size, ShapeByteSize(entry.tensor.shape, *dtype, where));
  if (offsets[1] - offsets[0] != byte_size) {
    return MakeError(ErrorCode::kCorrupt,
                     "{}: data_offsets [{}, {}] span {} bytes, but shape and dtype need {}", where,
                     offsets[0], offsets[1], offsets[1] - offsets[0], byte_size);
  }
  entry.begin = offsets[0];
  entry.end = offsets[1];
  return entry;
}

Result<std::map<std::string, std::string>> ParseMetadata(const nlohmann::json& value,
                                                         const std::string& source) {
  if (!value.is_object()) {
    return MakeError(ErrorCode::kCorrupt, "{}: __metadata__ is not an object", source);
  }
  std::map<std::string, std::string> out;
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      return MakeError(ErrorCode::kCorrupt, "{}: __metadata__ value \"{}\" is not a string", source,
                       key);
    }
    out[key] = item.get<std::string>();
  }
  return out;
}

// Tensors must tile the data section exactly, as the reference reader demands:
// an overlap or a gap means the header does not describe this file.
Status CheckTiling(const std::vector<Entry>& entries, uint64_t data_size,
                   const std::string& source) {
  uint64_t expected = 0;
  for (const Entry& entry : entries) {
    if (entry.begin < expected) {
      return MakeError(ErrorCode::kCorrupt,
                       "{}: tensor \"{}\" at [{}, {}] overlaps the previous one", source,
                       entry.tensor.name, entry.begin, entry.end);
    }
    if (entry.begin > expected) {
      return MakeError(ErrorCode::kCorrupt,
                       "{}: tensor \"{}\" starts at {}, leaving a gap after offset {}", source,
                       entry.tensor.name, entry.begin, expected);
    }
    if (entry.end > data_size) {
      return MakeError(ErrorCode::kCorrupt,
                       "{}: tensor \"{}\" ends at {}, past the data section ({} bytes)", source,
                       entry.tensor.name, entry.end, data_size);
    }
    expected = entry.end;
  }
  if (expected != data_size) {
    return MakeError(ErrorCode::kCorrupt,
                     "{}: the data section has {} bytes but the tensors cover only {}", source,
                     data_size, expected);
  }
  return OkStatus();
}

}  // namespace

std::string_view SafetensorsDTypeName(DType dtype) {
  for (const auto& [d, name] : kDTypeNames) {
    if (d == dtype) return name;
  }
  return "";
}

std::optional<DType> DTypeFromSafetensorsName(std::string_view name) {
  for (const auto& [dtype, n] : kDTypeNames) {
    if (n == name) return dtype;
  }
  return std::nullopt;
}

Result<SafetensorsFile> SafetensorsFile::Open(const std::string& path) {
  LS_ASSIGN_OR_RETURN(auto file, MappedFile::Open(path));
  return Parse(file->bytes(), path, file);
}

Result<SafetensorsFile> SafetensorsFile::Parse(std::span<const uint8_t> bytes,
                                               const std::string& source,
                                               std::shared_ptr<const void> keep_alive) {
  ByteReader reader(bytes, source);
  LS_ASSIGN_OR_RETURN(uint64_t header_size, reader.Read<uint64_t>("header length"));
  if (header_size > reader.remaining() || header_size > kMaxHeaderBytes) {
    return MakeError(ErrorCode::kCorrupt,
                     "{}: header length {} is past the end of the file ({} bytes)", source,
                     header_size, bytes.size());
  }
  LS_ASSIGN_OR_RETURN(std::string_view header_text, reader.ReadString(header_size, "header"));
  LS_ASSIGN_OR_RETURN(JsonObject header, JsonObject::Parse(header_text, source + " (header)"));
  const uint64_t data_start = reader.position();
  const uint64_t data_size = bytes.size() - data_start;

  SafetensorsFile file;
  file.source_ = source;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.json().items()) {
    if (name == "__metadata__") {
      LS_ASSIGN_OR_RETURN(file.metadata_, ParseMetadata(value, source));
      continue;
    }
    LS_ASSIGN_OR_RETURN(Entry entry, ParseEntry(name, value, source));
    entries.push_back(std::move(entry));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  LS_RETURN_IF_ERROR(CheckTiling(entries, data_size, source));
  for (Entry& entry : entries) {
    entry.tensor.bytes = bytes.subspan(data_start + entry.begin, entry.end - entry.begin);
    entry.tensor.keep_alive = keep_alive;
    file.index_[entry.tensor.name] = file.tensors_.size();
    file.tensors_.push_back(std::move(entry.tensor));
  }
  return file;
}

const TensorRef* SafetensorsFile::Find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace lorashare

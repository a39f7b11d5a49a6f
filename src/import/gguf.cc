#include "import/gguf.h"

#include <unordered_set>

#include "base/byte_reader.h"

namespace lorashare {
namespace {

constexpr int kMaxArrayDepth = 8;
constexpr uint32_t kMaxDims = 8;

// Smallest encoding of one value of `type`, to refuse counts that cannot fit
// before allocating for them.
uint64_t MinEncodedSize(GgufType type) {
  switch (type) {
    case GgufType::kU8:
    case GgufType::kI8:
    case GgufType::kBool:
      return 1;
    case GgufType::kU16:
    case GgufType::kI16:
      return 2;
    case GgufType::kU32:
    case GgufType::kI32:
    case GgufType::kF32:
      return 4;
    case GgufType::kArray:
      return 12;
    default:
      return 8;
  }
}

class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, const std::string& source) : reader_(bytes, source) {}

  Result<std::string_view> ReadString(std::string_view what) {
    LS_ASSIGN_OR_RETURN(uint64_t length, reader_.Read<uint64_t>(what));
    if (length > reader_.remaining()) {
      return MakeError(ErrorCode::kCorrupt, "{}: {} of {} bytes at offset {} runs past the end",
                       reader_.source(), what, length, reader_.position());
    }
    return reader_.ReadString(length, what);
  }

  Result<GgufValue> ReadValue(GgufType type, const std::string& what, int depth) {
    GgufValue value;
    value.type = type;
    switch (type) {
      case GgufType::kU8:
        return Integer<uint8_t>(value, what);
      case GgufType::kI8:
        return Integer<int8_t>(value, what);
      case GgufType::kU16:
        return Integer<uint16_t>(value, what);
      case GgufType::kI16:
        return Integer<int16_t>(value, what);
      case GgufType::kU32:
        return Integer<uint32_t>(value, what);
      case GgufType::kI32:
        return Integer<int32_t>(value, what);
      case GgufType::kU64:
        return Integer<uint64_t>(value, what);
      case GgufType::kI64:
        return Integer<int64_t>(value, what);
      case GgufType::kF32: {
        LS_ASSIGN_OR_RETURN(float f, reader_.Read<float>(what));
        value.value = static_cast<double>(f);
        return value;
      }
      case GgufType::kF64: {
        LS_ASSIGN_OR_RETURN(double d, reader_.Read<double>(what));
        value.value = d;
        return value;
      }
      case GgufType::kBool: {
        LS_ASSIGN_OR_RETURN(uint8_t b, reader_.Read<uint8_t>(what));
        if (b > 1) {
          return MakeError(ErrorCode::kCorrupt, "{}: {}: bool value {} is not 0 or 1",
                           reader_.source(), what, b);
        }
        value.value = b == 1;
        return value;
      }
      case GgufType::kString: {
        LS_ASSIGN_OR_RETURN(value.value, ReadString(what));
        return value;
      }
      case GgufType::kArray:
        return ReadArray(value, what, depth);
    }
    return MakeError(ErrorCode::kCorrupt, "{}: {}: unknown value type {}", reader_.source(), what,
                     static_cast<uint32_t>(type));
  }

  ByteReader& reader() { return reader_; }

 private:
  template <typename T>
  Result<GgufValue> Integer(GgufValue& value, const std::string& what) {
    LS_ASSIGN_OR_RETURN(T raw, reader_.Read<T>(what));
    value.value = static_cast<int64_t>(raw);
    return value;
  }

  Result<GgufValue> ReadArray(GgufValue& value, const std::string& what, int depth) {
    if (depth >= kMaxArrayDepth) {
      return MakeError(ErrorCode::kCorrupt, "{}: {}: arrays nested deeper than {}",
                       reader_.source(), what, kMaxArrayDepth);
    }
    LS_ASSIGN_OR_RETURN(uint32_t element_type, reader_.Read<uint32_t>(what + " element type"));
    if (element_type > static_cast<uint32_t>(GgufType::kF64)) {
      return MakeError(ErrorCode::kCorrupt, "{}: {}: unknown array element type {}",
                       reader_.source(), what, element_type);
    }
    value.element_type = static_cast<GgufType>(element_type);
    LS_ASSIGN_OR_RETURN(uint64_t count, reader_.Read<uint64_t>(what + " length"));
    if (count > reader_.remaining() / MinEncodedSize(value.element_type)) {
      return MakeError(ErrorCode::kCorrupt,
                       "{}: {}: array of {} elements cannot fit in the {} bytes left",
                       reader_.source(), what, count, reader_.remaining());
    }
    std::vector<GgufValue> elements;
    elements.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      // Element errors name the array: formatting an index per element would
      // dominate the cost of reading a 150k-token vocabulary.
      LS_ASSIGN_OR_RETURN(GgufValue element, ReadValue(value.element_type, what, depth + 1));
      elements.push_back(std::move(element));
    }
    value.value = std::move(elements);
    return value;
  }

  ByteReader reader_;
};

struct TypeSize {
  uint32_t block_elements;
  uint32_t block_bytes;
};

// ggml's type table (ggml.c type_traits): elements per block and bytes per block.
std::optional<TypeSize> GgmlTypeSize(uint32_t type) {
  switch (type) {
    case 0:
      return TypeSize{1, 4};  // F32
    case 1:
      return TypeSize{1, 2};  // F16
    case 2:
      return TypeSize{32, 18};  // Q4_0
    case 3:
      return TypeSize{32, 20};  // Q4_1
    case 6:
      return TypeSize{32, 22};  // Q5_0
    case 7:
      return TypeSize{32, 24};  // Q5_1
    case 8:
      return TypeSize{32, 34};  // Q8_0
    case 9:
      return TypeSize{32, 36};  // Q8_1
    case 10:
      return TypeSize{256, 84};  // Q2_K
    case 11:
      return TypeSize{256, 110};  // Q3_K
    case 12:
      return TypeSize{256, 144};  // Q4_K
    case 13:
      return TypeSize{256, 176};  // Q5_K
    case 14:
      return TypeSize{256, 210};  // Q6_K
    case 15:
      return TypeSize{256, 292};  // Q8_K
    case 24:
      return TypeSize{1, 1};  // I8
    case 25:
      return TypeSize{1, 2};  // I16
    case 26:
      return TypeSize{1, 4};  // I32
    case 27:
      return TypeSize{1, 8};  // I64
    case 28:
      return TypeSize{1, 8};  // F64
    case 30:
      return TypeSize{1, 2};  // BF16
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<uint64_t> GgmlTensorBytes(uint32_t ggml_type, uint64_t elements) {
  auto size = GgmlTypeSize(ggml_type);
  if (!size || elements % size->block_elements != 0) return std::nullopt;
  uint64_t blocks = elements / size->block_elements;
  if (blocks > UINT64_MAX / size->block_bytes) return std::nullopt;
  return blocks * size->block_bytes;
}

std::string_view GgufTypeName(GgufType type) {
  static constexpr std::string_view kNames[] = {"u8",  "i8",  "u16",  "i16",    "u32",
                                                "i32", "f32", "bool", "string", "array",
                                                "u64", "i64", "f64"};
  auto index = static_cast<uint32_t>(type);
  return index < std::size(kNames) ? kNames[index] : "unknown";
}

bool GgufValue::is_integer() const { return std::holds_alternative<int64_t>(value); }

Result<GgufFile> GgufFile::Open(const std::string& path) {
  LS_ASSIGN_OR_RETURN(auto file, MappedFile::Open(path));
  auto bytes = file->bytes();
  return Parse(bytes, path, std::move(file));
}

Result<GgufFile> GgufFile::Parse(std::span<const uint8_t> bytes, const std::string& source,
                                 std::shared_ptr<const void> keep_alive) {
  GgufFile file;
  file.source_ = source;
  file.keep_alive_ = std::move(keep_alive);
  Parser parser(bytes, source);
  ByteReader& reader = parser.reader();
  LS_ASSIGN_OR_RETURN(std::string_view magic, reader.ReadString(4, "magic"));
  if (magic != "GGUF") return MakeError(ErrorCode::kCorrupt, "{}: not a GGUF file (magic)", source);
  LS_ASSIGN_OR_RETURN(file.version_, reader.Read<uint32_t>("version"));
  if (file.version_ != 2 && file.version_ != 3) {
    return MakeError(ErrorCode::kUnsupported, "{}: GGUF version {} (this reader knows 2 and 3)",
                     source, file.version_);
  }
  LS_ASSIGN_OR_RETURN(uint64_t tensor_count, reader.Read<uint64_t>("tensor count"));
  LS_ASSIGN_OR_RETURN(uint64_t metadata_count, reader.Read<uint64_t>("metadata count"));
  // Each entry takes at least 12 bytes (a key length and a type).
  if (metadata_count > reader.remaining() / 12 || tensor_count > reader.remaining() / 24) {
    return MakeError(ErrorCode::kCorrupt, "{}: {} metadata entries and {} tensors cannot fit",
                     source, metadata_count, tensor_count);
  }
  std::unordered_set<std::string_view> keys;
  for (uint64_t i = 0; i < metadata_count; ++i) {
    LS_ASSIGN_OR_RETURN(std::string_view key,
                        parser.ReadString(fmt::format("metadata key #{}", i)));
    if (!keys.insert(key).second) {
      return MakeError(ErrorCode::kCorrupt, "{}: metadata key '{}' appears twice", source, key);
    }
    LS_ASSIGN_OR_RETURN(uint32_t type, reader.Read<uint32_t>(fmt::format("type of '{}'", key)));
    LS_ASSIGN_OR_RETURN(GgufValue value,
                        parser.ReadValue(static_cast<GgufType>(type), std::string(key), 0));
    file.metadata_.emplace_back(key, std::move(value));
  }

  uint64_t alignment = 32;
  if (const GgufValue* value = file.Find("general.alignment")) {
    if (!value->is_integer() || std::get<int64_t>(value->value) <= 0 ||
        (std::get<int64_t>(value->value) & (std::get<int64_t>(value->value) - 1)) != 0) {
      return MakeError(ErrorCode::kCorrupt, "{}: general.alignment must be a power of two", source);
    }
    alignment = std::get<int64_t>(value->value);
  }

  for (uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensorInfo info;
    LS_ASSIGN_OR_RETURN(info.name, parser.ReadString(fmt::format("tensor #{} name", i)));
    LS_ASSIGN_OR_RETURN(uint32_t n_dims, reader.Read<uint32_t>("tensor dims"));
    if (n_dims > kMaxDims) {
      return MakeError(ErrorCode::kCorrupt, "{}: tensor '{}' has {} dimensions (at most {})",
                       source, info.name, n_dims, kMaxDims);
    }
    uint64_t elements = 1;  // checked here so the size below cannot overflow
    for (uint32_t d = 0; d < n_dims; ++d) {
      LS_ASSIGN_OR_RETURN(uint64_t dim, reader.Read<uint64_t>("tensor dim"));
      if (dim != 0 && elements > UINT64_MAX / dim) {
        return MakeError(ErrorCode::kCorrupt, "{}: tensor '{}': element count overflows", source,
                         info.name);
      }
      elements *= dim;
      info.dims.push_back(dim);
    }
    LS_ASSIGN_OR_RETURN(info.ggml_type, reader.Read<uint32_t>("tensor type"));
    LS_ASSIGN_OR_RETURN(info.offset, reader.Read<uint64_t>("tensor offset"));
    if (info.offset % alignment != 0) {
      return MakeError(ErrorCode::kCorrupt, "{}: tensor '{}': offset {} is not aligned to {}",
                       source, info.name, info.offset, alignment);
    }
    file.tensors_.push_back(std::move(info));
  }

  uint64_t end_of_infos = reader.position();
  file.data_offset_ = (end_of_infos + alignment - 1) / alignment * alignment;
  if (!file.tensors_.empty() && file.data_offset_ > bytes.size()) {
    return MakeError(ErrorCode::kCorrupt, "{}: data section at {} is past the end ({} bytes)",
                     source, file.data_offset_, bytes.size());
  }
  for (GgufTensorInfo& info : file.tensors_) {
    uint64_t elements = 1;
    for (uint64_t dim : info.dims) elements *= dim;
    auto size = GgmlTensorBytes(info.ggml_type, elements);
    if (!size) continue;
    uint64_t data_size = bytes.size() - file.data_offset_;
    if (!RangeInside(info.offset, *size, data_size)) {
      return MakeError(ErrorCode::kCorrupt,
                       "{}: tensor '{}': {} bytes at data offset {} run past the end", source,
                       info.name, *size, info.offset);
    }
    info.data = bytes.subspan(file.data_offset_ + info.offset, *size);
  }
  return file;
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  for (const auto& [name, value] : metadata_) {
    if (name == key) return &value;
  }
  return nullptr;
}

Result<const GgufValue*> GgufFile::Require(std::string_view key) const {
  const GgufValue* value = Find(key);
  if (value == nullptr) {
    return MakeError(ErrorCode::kNotFound, "{}: metadata key '{}' is missing", source_, key);
  }
  return value;
}

Result<std::string_view> GgufFile::GetString(std::string_view key) const {
  LS_ASSIGN_OR_RETURN(const GgufValue* value, Require(key));
  if (value->type != GgufType::kString) {
    return MakeError(ErrorCode::kCorrupt, "{}: '{}' is a {}, not a string", source_, key,
                     GgufTypeName(value->type));
  }
  return std::get<std::string_view>(value->value);
}

Result<int64_t> GgufFile::GetInt(std::string_view key) const {
  LS_ASSIGN_OR_RETURN(const GgufValue* value, Require(key));
  if (!value->is_integer()) {
    return MakeError(ErrorCode::kCorrupt, "{}: '{}' is a {}, not an integer", source_, key,
                     GgufTypeName(value->type));
  }
  return std::get<int64_t>(value->value);
}

Result<bool> GgufFile::GetBool(std::string_view key) const {
  LS_ASSIGN_OR_RETURN(const GgufValue* value, Require(key));
  if (value->type != GgufType::kBool) {
    return MakeError(ErrorCode::kCorrupt, "{}: '{}' is a {}, not a bool", source_, key,
                     GgufTypeName(value->type));
  }
  return std::get<bool>(value->value);
}

Result<const std::vector<GgufValue>*> GgufFile::RequireArray(std::string_view key,
                                                             std::string_view wanted) const {
  LS_ASSIGN_OR_RETURN(const GgufValue* value, Require(key));
  if (value->type != GgufType::kArray) {
    return MakeError(ErrorCode::kCorrupt, "{}: '{}' is a {}, not an array of {}", source_, key,
                     GgufTypeName(value->type), wanted);
  }
  return &std::get<std::vector<GgufValue>>(value->value);
}

Result<std::vector<std::string_view>> GgufFile::GetStringArray(std::string_view key) const {
  LS_ASSIGN_OR_RETURN(auto elements, RequireArray(key, "strings"));
  std::vector<std::string_view> out;
  out.reserve(elements->size());
  for (const GgufValue& element : *elements) {
    if (element.type != GgufType::kString) {
      return MakeError(ErrorCode::kCorrupt, "{}: '{}' holds a {}, not strings", source_, key,
                       GgufTypeName(element.type));
    }
    out.push_back(std::get<std::string_view>(element.value));
  }
  return out;
}

Result<std::vector<int64_t>> GgufFile::GetIntArray(std::string_view key) const {
  LS_ASSIGN_OR_RETURN(auto elements, RequireArray(key, "integers"));
  std::vector<int64_t> out;
  out.reserve(elements->size());
  for (const GgufValue& element : *elements) {
    if (!element.is_integer()) {
      return MakeError(ErrorCode::kCorrupt, "{}: '{}' holds a {}, not integers", source_, key,
                       GgufTypeName(element.type));
    }
    out.push_back(std::get<int64_t>(element.value));
  }
  return out;
}

Result<std::vector<double>> GgufFile::GetFloatArray(std::string_view key) const {
  LS_ASSIGN_OR_RETURN(auto elements, RequireArray(key, "floats"));
  std::vector<double> out;
  out.reserve(elements->size());
  for (const GgufValue& element : *elements) {
    if (!std::holds_alternative<double>(element.value)) {
      return MakeError(ErrorCode::kCorrupt, "{}: '{}' holds a {}, not floats", source_, key,
                       GgufTypeName(element.type));
    }
    out.push_back(std::get<double>(element.value));
  }
  return out;
}

}  // namespace lorashare

#include "import/torch_archive.h"

#include "base/byte_reader.h"
#include "base/mapped_file.h"
#include "import/pickle.h"
#include "import/tensor_shape.h"
#include "import/zip_reader.h"

namespace lorashare {
namespace {

using Kind = PickleValue::Kind;

// The archive's folder: the one "<name>/data.pkl" entry.
Result<std::string> FindArchiveName(const ZipReader& zip, const std::string& source) {
  std::string found;
  for (const ZipEntry& entry : zip.entries()) {
    const size_t slash = entry.name.find('/');
    if (slash == std::string::npos || entry.name.substr(slash + 1) != "data.pkl") continue;
    if (!found.empty()) return MakeError(ErrorCode::kCorrupt, "{}: two data.pkl entries", source);
    found = entry.name.substr(0, slash);
  }
  if (found.empty()) {
    return MakeError(ErrorCode::kCorrupt, "{}: no <name>/data.pkl entry; not a torch.save file",
                     source);
  }
  return found;
}

Status CheckByteOrder(const ZipReader& zip, const std::string& archive, const std::string& source) {
  const ZipEntry* entry = zip.Find(archive + "/byteorder");
  if (entry == nullptr) return OkStatus();  // written before torch 2.1: little-endian
  LS_ASSIGN_OR_RETURN(auto data, zip.Data(*entry));
  std::string_view order(reinterpret_cast<const char*>(data.data()), data.size());
  if (order != "little") {
    return MakeError(ErrorCode::kUnsupported, "{}: byteorder is \"{}\"; only little-endian", source,
                     order);
  }
  return OkStatus();
}

// Only row-major layouts can be used in place; size-1 dims may have any stride.
bool IsContiguous(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides) {
  int64_t expected = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    if (sizes[i] != 1 && strides[i] != expected) return false;
    expected *= sizes[i];
  }
  return true;
}

class TensorResolver {
 public:
  TensorResolver(const ZipReader& zip, const Unpickled& pickle, std::string archive,
                 const std::string& source)
      : zip_(zip), pickle_(pickle), archive_(std::move(archive)), source_(source) {}

  Result<TensorRef> Resolve(const std::string& name, const PickleValue& value) {
    const std::string where = fmt::format("{}: tensor {}", source_, name);
    if (value.kind != Kind::kTensor) {
      return MakeError(ErrorCode::kUnsupported, "{}: the value is not a tensor", where);
    }
    const PickleValue& storage = pickle_.at(value.items[0]);
    TensorRef tensor;
    tensor.name = name;
    tensor.dtype = storage.dtype;
    tensor.shape = value.ints;
    LS_ASSIGN_OR_RETURN(uint64_t count, ShapeElementCount(tensor.shape, where));
    if (!IsContiguous(value.ints, value.strides)) {
      return MakeError(ErrorCode::kUnsupported,
                       "{}: strides {} are not contiguous for shape {}; save .contiguous() tensors",
                       where, ShapeString(value.strides), ShapeString(value.ints));
    }
    LS_ASSIGN_OR_RETURN(auto data, StorageBytes(storage, where));
    const uint64_t element = DTypeSize(storage.dtype);
    if (value.number < 0 || !RangeInside(static_cast<uint64_t>(value.number), count,
                                         static_cast<uint64_t>(storage.number))) {
      return MakeError(ErrorCode::kCorrupt,
                       "{}: {} elements at offset {} run past its storage of {} elements", where,
                       count, value.number, storage.number);
    }
    tensor.bytes = data.subspan(value.number * element, count * element);
    return tensor;
  }

 private:
  Result<std::span<const uint8_t>> StorageBytes(const PickleValue& storage,
                                                const std::string& where) {
    const std::string entry_name = archive_ + "/data/" + storage.text;
    const ZipEntry* entry = zip_.Find(entry_name);
    if (entry == nullptr) {
      return MakeError(ErrorCode::kCorrupt, "{}: storage entry {} is missing", where, entry_name);
    }
    LS_ASSIGN_OR_RETURN(auto data, zip_.Data(*entry));
    const uint64_t element = DTypeSize(storage.dtype);
    if (static_cast<uint64_t>(storage.number) > data.size() / element ||
        data.size() != static_cast<uint64_t>(storage.number) * element) {
      return MakeError(ErrorCode::kCorrupt, "{}: storage {} has {} bytes, {} {} elements need {}",
                       where, entry_name, data.size(), storage.number, DTypeName(storage.dtype),
                       static_cast<uint64_t>(storage.number) * element);
    }
    return data;
  }

  const ZipReader& zip_;
  const Unpickled& pickle_;
  std::string archive_;
  const std::string& source_;
};

}  // namespace

Result<TorchArchive> TorchArchive::Open(const std::string& path) {
  LS_ASSIGN_OR_RETURN(auto file, MappedFile::Open(path));
  return Parse(file->bytes(), path, file);
}

Result<TorchArchive> TorchArchive::Parse(std::span<const uint8_t> bytes, const std::string& source,
                                         std::shared_ptr<const void> keep_alive) {
  LS_ASSIGN_OR_RETURN(ZipReader zip, ZipReader::Parse(bytes, source));
  LS_ASSIGN_OR_RETURN(std::string archive, FindArchiveName(zip, source));
  LS_RETURN_IF_ERROR(CheckByteOrder(zip, archive, source));
  const std::string pickle_name = archive + "/data.pkl";
  LS_ASSIGN_OR_RETURN(auto pickle_bytes, zip.CheckedData(*zip.Find(pickle_name)));
  LS_ASSIGN_OR_RETURN(Unpickled pickle,
                      Unpickle(pickle_bytes, fmt::format("{}: {}", source, pickle_name)));
  const PickleValue& root = pickle.at(pickle.root);
  if (root.kind != Kind::kDict) {
    return MakeError(ErrorCode::kUnsupported, "{}: {} does not hold a dict of tensors", source,
                     pickle_name);
  }
  TorchArchive out;
  TensorResolver resolver(zip, pickle, archive, source);
  for (size_t i = 0; i + 1 < root.items.size(); i += 2) {
    const PickleValue& key = pickle.at(root.items[i]);
    if (key.kind != Kind::kString) {
      return MakeError(ErrorCode::kUnsupported, "{}: a dict key is not a string", source);
    }
    LS_ASSIGN_OR_RETURN(TensorRef tensor, resolver.Resolve(key.text, pickle.at(root.items[i + 1])));
    tensor.keep_alive = keep_alive;
    if (!out.index_.emplace(tensor.name, out.tensors_.size()).second) {
      return MakeError(ErrorCode::kCorrupt, "{}: tensor {} appears twice", source, tensor.name);
    }
    out.tensors_.push_back(std::move(tensor));
  }
  return out;
}

const TensorRef* TorchArchive::Find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace lorashare

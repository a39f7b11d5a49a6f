#include "testmodel/torch_writer.h"

#include <cstring>
#include <vector>

#include "base/output_file.h"
#include "import/zip_reader.h"

namespace lorashare {
namespace {

constexpr uint64_t kAlignment = 64;
constexpr uint64_t kMax32 = 0xFFFFFFFF;
constexpr uint16_t kPaddingExtraId = 0x4246;  // "FB", torch's alignment padding

// Little-endian appends.
void Put16(std::string& out, uint16_t v) { out.append(reinterpret_cast<const char*>(&v), 2); }
void Put32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void Put64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }

std::string_view StorageType(DType dtype) {
  switch (dtype) {
    case DType::kF16:
      return "HalfStorage";
    case DType::kBF16:
      return "BFloat16Storage";
    default:
      return "FloatStorage";
  }
}

// The protocol 2 opcodes torch.save's pickler emits for an OrderedDict of
// tensors (without its memo, which loading does not need).
class PickleWriter {
 public:
  void String(std::string_view text) {
    out_ += 'X';
    Put32(out_, static_cast<uint32_t>(text.size()));
    out_ += text;
  }
  void Global(std::string_view module, std::string_view name) {
    out_ += 'c';
    (out_ += module) += '\n';
    (out_ += name) += '\n';
  }
  void Int(int64_t value) {
    if (value >= 0 && value < 256) {
      out_ += 'K';
      out_ += static_cast<char>(value);
    } else if (value >= 0 && value < 65536) {
      out_ += 'M';
      Put16(out_, static_cast<uint16_t>(value));
    } else if (value >= INT32_MIN && value <= INT32_MAX) {
      out_ += 'J';
      Put32(out_, static_cast<uint32_t>(value));
    } else {
      out_ += '\x8a';  // LONG1, 8 bytes
      out_ += '\x08';
      Put64(out_, static_cast<uint64_t>(value));
    }
  }
  void IntTuple(const std::vector<int64_t>& values) {
    out_ += '(';
    for (int64_t v : values) Int(v);
    out_ += 't';
  }
  void EmptyOrderedDict() {
    Global("collections", "OrderedDict");
    out_ += ")R";
  }
  void Tensor(const TensorRef& tensor, size_t key) {
    Global("torch._utils", "_rebuild_tensor_v2");
    out_ += "((";  // args tuple, then the persistent id tuple
    String("storage");
    Global("torch", StorageType(tensor.dtype));
    String(std::to_string(key));
    String("cpu");
    Int(tensor.element_count());
    out_ += "tQ";
    Int(0);
    IntTuple(tensor.shape);
    std::vector<int64_t> strides(tensor.shape.size());
    int64_t step = 1;
    for (size_t i = tensor.shape.size(); i-- > 0;) {
      strides[i] = step;
      step *= tensor.shape[i];
    }
    IntTuple(strides);
    out_ += '\x89';      // requires_grad = False
    EmptyOrderedDict();  // backward hooks
    out_ += "tR";
  }
  std::string Finish(std::span<const TensorRef> tensors) {
    out_ = "\x80\x02";
    EmptyOrderedDict();
    out_ += '(';
    for (size_t i = 0; i < tensors.size(); ++i) {
      String(tensors[i].name);
      Tensor(tensors[i], i);
    }
    out_ += "u.";
    return std::move(out_);
  }

 private:
  std::string out_;
};

struct Record {
  std::string name;
  std::span<const uint8_t> data;
  uint32_t crc = 0;
  uint64_t offset = 0;  // of the local header
};

class ZipWriter {
 public:
  ZipWriter(OutputFile& out, bool zip64) : out_(out), zip64_(zip64) {}

  Status Add(std::string name, std::span<const uint8_t> data) {
    Record record{std::move(name), data, Crc32(data), out_.position()};
    std::string header;
    Put32(header, 0x04034b50);
    Put16(header, zip64_ ? 45 : 20);
    Put16(header, 0);  // flags
    Put16(header, 0);  // stored
    Put32(header, 0);  // DOS time and date
    Put32(header, record.crc);
    Put32(header, zip64_ ? kMax32 : static_cast<uint32_t>(data.size()));
    Put32(header, zip64_ ? kMax32 : static_cast<uint32_t>(data.size()));
    Put16(header, static_cast<uint16_t>(record.name.size()));
    std::string extra;
    if (zip64_) {
      Put16(extra, 0x0001);
      Put16(extra, 16);
      Put64(extra, data.size());
      Put64(extra, data.size());
    }
    // Pads the header so the data starts on a 64-byte boundary.
    const uint64_t unpadded = record.offset + header.size() + 2 + record.name.size() + extra.size();
    uint64_t padding = (kAlignment - (unpadded + 4) % kAlignment) % kAlignment;
    Put16(extra, kPaddingExtraId);
    Put16(extra, static_cast<uint16_t>(padding));
    extra.append(padding, 'Z');
    Put16(header, static_cast<uint16_t>(extra.size()));
    header += record.name;
    header += extra;
    LS_RETURN_IF_ERROR(out_.Write(header));
    LS_RETURN_IF_ERROR(out_.Write(data));
    records_.push_back(std::move(record));
    return OkStatus();
  }

  Status Finish() {
    const uint64_t directory_offset = out_.position();
    std::string directory;
    for (const Record& record : records_) AppendCentral(directory, record);
    const uint64_t directory_size = directory.size();
    if (zip64_) {
      const uint64_t end64 = directory_offset + directory_size;
      Put32(directory, 0x06064b50);
      Put64(directory, 44);
      Put16(directory, 45);
      Put16(directory, 45);
      Put32(directory, 0);
      Put32(directory, 0);
      Put64(directory, records_.size());
      Put64(directory, records_.size());
      Put64(directory, directory_size);
      Put64(directory, directory_offset);
      Put32(directory, 0x07064b50);
      Put32(directory, 0);
      Put64(directory, end64);
      Put32(directory, 1);
    }
    Put32(directory, 0x06054b50);
    Put32(directory, 0);  // disk numbers
    const uint16_t count = zip64_ ? 0xFFFF : static_cast<uint16_t>(records_.size());
    Put16(directory, count);
    Put16(directory, count);
    Put32(directory, zip64_ ? kMax32 : static_cast<uint32_t>(directory_size));
    Put32(directory, zip64_ ? kMax32 : static_cast<uint32_t>(directory_offset));
    Put16(directory, 0);  // comment
    return out_.Write(directory);
  }

 private:
  void AppendCentral(std::string& out, const Record& record) const {
    Put32(out, 0x02014b50);
    Put16(out, zip64_ ? 45 : 20);  // made by
    Put16(out, zip64_ ? 45 : 20);  // needed
    Put16(out, 0);
    Put16(out, 0);
    Put32(out, 0);
    Put32(out, record.crc);
    const uint32_t size = zip64_ ? kMax32 : static_cast<uint32_t>(record.data.size());
    Put32(out, size);
    Put32(out, size);
    Put16(out, static_cast<uint16_t>(record.name.size()));
    Put16(out, zip64_ ? 28 : 0);
    Put16(out, 0);  // comment
    Put16(out, 0);  // disk
    Put16(out, 0);  // internal attributes
    Put32(out, 0);  // external attributes
    Put32(out, zip64_ ? kMax32 : static_cast<uint32_t>(record.offset));
    out += record.name;
    if (zip64_) {
      Put16(out, 0x0001);
      Put16(out, 24);
      Put64(out, record.data.size());
      Put64(out, record.data.size());
      Put64(out, record.offset);
    }
  }

  OutputFile& out_;
  bool zip64_;
  std::vector<Record> records_;
};

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace

Status WriteTorchCheckpoint(const std::string& path, std::span<const TensorRef> tensors,
                            const TorchWriteOptions& options) {
  uint64_t total = 0;
  for (const TensorRef& tensor : tensors) {
    if (tensor.dtype != DType::kF32 && tensor.dtype != DType::kF16 &&
        tensor.dtype != DType::kBF16) {
      return MakeError(ErrorCode::kInvalidArgument, "{}: tensor {}: dtype {} is not supported",
                       path, tensor.name, DTypeName(tensor.dtype));
    }
    LS_RETURN_IF_ERROR(tensor.CheckByteSize(path));
    total += tensor.bytes.size() + kAlignment * 2 + tensor.name.size();
  }
  const std::string pickle = PickleWriter().Finish(tensors);
  // Leaves room for headers and the directory before 32-bit fields overflow.
  const bool zip64 = options.force_zip64 || total + pickle.size() + (1 << 20) >= kMax32 ||
                     tensors.size() + 4 >= 0xFFFF;
  LS_ASSIGN_OR_RETURN(auto out, OutputFile::Create(path));
  ZipWriter zip(*out, zip64);
  LS_RETURN_IF_ERROR(zip.Add("archive/data.pkl", Bytes(pickle)));
  LS_RETURN_IF_ERROR(zip.Add("archive/byteorder", Bytes("little")));
  for (size_t i = 0; i < tensors.size(); ++i) {
    LS_RETURN_IF_ERROR(zip.Add("archive/data/" + std::to_string(i), tensors[i].bytes));
  }
  LS_RETURN_IF_ERROR(zip.Add("archive/version", Bytes("3\n")));
  LS_RETURN_IF_ERROR(zip.Finish());
  return out->Commit();
}

}  // namespace lorashare

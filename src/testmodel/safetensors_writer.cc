#include "testmodel/safetensors_writer.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/output_file.h"
#include "import/safetensors.h"

namespace lorashare {

Status WriteSafetensors(const std::string& path, std::span<const TensorRef> tensors,
                        const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorRef*> order;
  for (const TensorRef& tensor : tensors) {
    LS_RETURN_IF_ERROR(tensor.CheckByteSize(path));
    order.push_back(&tensor);
  }
  std::sort(order.begin(), order.end(), [](const TensorRef* a, const TensorRef* b) {
    if (DTypeSize(a->dtype) != DTypeSize(b->dtype)) {
      return DTypeSize(a->dtype) > DTypeSize(b->dtype);
    }
    return a->name < b->name;
  });

  // ordered_json keeps __metadata__ first and the entries in data order.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorRef* tensor : order) {
    if (header.contains(tensor->name)) {
      return MakeError(ErrorCode::kInvalidArgument, "{}: tensor {} given twice", path,
                       tensor->name);
    }
    header[tensor->name] = {{"dtype", SafetensorsDTypeName(tensor->dtype)},
                            {"shape", tensor->shape},
                            {"data_offsets", {offset, offset + tensor->bytes.size()}}};
    offset += tensor->bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  LS_ASSIGN_OR_RETURN(auto out, OutputFile::Create(path));
  const uint64_t header_size = text.size();
  LS_RETURN_IF_ERROR(out->Write(std::span(reinterpret_cast<const uint8_t*>(&header_size), 8)));
  LS_RETURN_IF_ERROR(out->Write(text));
  for (const TensorRef* tensor : order) LS_RETURN_IF_ERROR(out->Write(tensor->bytes));
  return out->Commit();
}

}  // namespace lorashare

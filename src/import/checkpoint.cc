#include "import/checkpoint.h"

#include <fmt/format.h>

#include <filesystem>
#include <unordered_map>

#include "import/checkpoint_builder.h"
#include "import/checkpoint_layout.h"
#include "import/tensor_shape.h"

namespace lorashare {
namespace {

bool IsFloat(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16;
}

std::string FindTokenizer(const std::string& dir) {
  for (const char* name : {"tokenizer.json", "tokenizer.model"}) {
    std::filesystem::path path = std::filesystem::path(dir) / name;
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) return path.string();
  }
  return "";
}

}  // namespace

int64_t TensorRef::element_count() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

Status TensorRef::CheckByteSize(std::string_view file) const {
  LS_ASSIGN_OR_RETURN(uint64_t size,
                      ShapeByteSize(shape, dtype, fmt::format("{}: {}", file, name)));
  if (size != bytes.size()) {
    return MakeError(ErrorCode::kInvalidArgument, "{}: tensor {} has {} bytes, its shape needs {}",
                     file, name, bytes.size(), size);
  }
  return OkStatus();
}

const TensorRef* Checkpoint::Find(std::string_view canonical_name) const {
  for (const TensorRef& tensor : tensors_) {
    if (tensor.name == canonical_name) return &tensor;
  }
  return nullptr;
}

Result<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return MakeError(ErrorCode::kNotFound, "{}: not a directory", dir);
  }
  if (std::filesystem::exists(std::filesystem::path(dir) / "config.json", ec)) {
    return OpenHfCheckpoint(dir);
  }
  if (std::filesystem::exists(std::filesystem::path(dir) / "params.json", ec)) {
    return OpenMetaCheckpoint(dir);
  }
  return MakeError(ErrorCode::kNotFound,
                   "{}: neither config.json (Hugging Face) nor params.json (Meta) found", dir);
}

Result<std::unique_ptr<Checkpoint>> CheckpointBuilder::Build(const std::string& dir,
                                                             const ModelConfig& config,
                                                             const TokenizerFacts& facts,
                                                             std::vector<ImportedTensor> tensors) {
  std::unordered_map<std::string, ImportedTensor> by_name;
  for (ImportedTensor& imported : tensors) {
    auto it = by_name.find(imported.tensor.name);
    if (it != by_name.end()) {
      return MakeError(ErrorCode::kCorrupt, "{}: {} appears twice ({} and {})", dir,
                       imported.tensor.name, it->second.origin, imported.origin);
    }
    std::string name = imported.tensor.name;
    by_name.emplace(std::move(name), std::move(imported));
  }
  if (config.tied_embeddings) by_name.erase("output.weight");

  auto checkpoint = std::unique_ptr<Checkpoint>(new Checkpoint());
  checkpoint->dir_ = dir;
  checkpoint->config_ = config;
  checkpoint->tokenizer_facts_ = facts;
  checkpoint->tokenizer_path_ = FindTokenizer(dir);
  for (const ExpectedTensor& expected : ExpectedTensors(config)) {
    auto it = by_name.find(expected.name);
    if (it == by_name.end()) {
      return MakeError(ErrorCode::kCorrupt, "{}: tensor {} is missing", dir, expected.name);
    }
    const ImportedTensor& imported = it->second;
    if (imported.tensor.shape != expected.shape) {
      return MakeError(ErrorCode::kMismatch, "{}: {} has shape {}, the config implies {}",
                       imported.origin, expected.name, ShapeString(imported.tensor.shape),
                       ShapeString(expected.shape));
    }
    if (!IsFloat(imported.tensor.dtype)) {
      return MakeError(ErrorCode::kUnsupported, "{}: {} has dtype {}; f32, f16 or bf16 expected",
                       imported.origin, expected.name, DTypeName(imported.tensor.dtype));
    }
    checkpoint->tensors_.push_back(std::move(it->second.tensor));
    by_name.erase(it);
  }
  if (!by_name.empty()) {
    const ImportedTensor& extra = by_name.begin()->second;
    return MakeError(ErrorCode::kCorrupt, "{}: unexpected tensor {} for this architecture",
                     extra.origin, extra.tensor.name);
  }
  return checkpoint;
}

}  // namespace lorashare

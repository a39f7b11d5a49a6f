// Hugging Face checkpoint directories: config.json, optional
// generation_config.json, and model.safetensors or shards listed in
// model.safetensors.index.json.
#include <filesystem>
#include <map>
#include <set>

#include "import/checkpoint_builder.h"
#include "import/hf_config.h"
#include "import/json_object.h"
#include "import/safetensors.h"
#include "import/tensor_names.h"

namespace lorashare {
namespace {

namespace fs = std::filesystem;

bool Exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// Shard file names -> the tensor names the index assigns to each.
Result<std::map<std::string, std::set<std::string>>> ReadShardIndex(const fs::path& path) {
  LS_ASSIGN_OR_RETURN(JsonObject index, JsonObject::Load(path.string()));
  auto it = index.json().find("weight_map");
  if (it == index.json().end() || !it->is_object()) {
    return MakeError(ErrorCode::kCorrupt, "{}: missing or non-object field \"weight_map\"",
                     path.string());
  }
  std::map<std::string, std::set<std::string>> shards;
  for (const auto& [name, file] : it->items()) {
    if (!file.is_string()) {
      return MakeError(ErrorCode::kCorrupt, "{}: weight_map entry \"{}\" is not a file name",
                       path.string(), name);
    }
    const std::string shard = file.get<std::string>();
    // Shards live beside the index; anything else would read outside the directory.
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..") {
      return MakeError(ErrorCode::kCorrupt, "{}: weight_map entry \"{}\" names bad file \"{}\"",
                       path.string(), name, shard);
    }
    shards[shard].insert(name);
  }
  if (shards.empty()) {
    return MakeError(ErrorCode::kCorrupt, "{}: weight_map is empty", path.string());
  }
  return shards;
}

// Renames one file's tensors to canonical names; rotary caches are ignored.
Status CollectTensors(const SafetensorsFile& file, std::vector<ImportedTensor>* out) {
  for (const TensorRef& tensor : file.tensors()) {
    const std::string origin = fmt::format("{}: {}", file.source(), tensor.name);
    if (tensor.name.ends_with(".rotary_emb.inv_freq")) continue;
    std::string_view module = tensor.name;
    if (!module.ends_with(".weight")) {
      return MakeError(ErrorCode::kCorrupt, "{}: unknown tensor", origin);
    }
    module.remove_suffix(std::string_view(".weight").size());
    auto canonical = CanonicalFromHfModule(module);
    if (!canonical) return MakeError(ErrorCode::kCorrupt, "{}: unknown tensor", origin);
    ImportedTensor imported{tensor, origin};
    imported.tensor.name = *canonical + ".weight";
    out->push_back(std::move(imported));
  }
  return OkStatus();
}

Status CollectShards(const fs::path& dir, const fs::path& index_path,
                     std::vector<ImportedTensor>* out) {
  LS_ASSIGN_OR_RETURN(auto shards, ReadShardIndex(index_path));
  for (const auto& [shard, names] : shards) {
    LS_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Open((dir / shard).string()));
    for (const std::string& name : names) {
      if (file.Find(name) == nullptr) {
        return MakeError(ErrorCode::kCorrupt, "{}: tensor {} is listed in {} but not in the file",
                         file.source(), name, index_path.string());
      }
    }
    for (const TensorRef& tensor : file.tensors()) {
      if (!names.contains(tensor.name)) {
        return MakeError(ErrorCode::kCorrupt, "{}: tensor {} is not listed in {}", file.source(),
                         tensor.name, index_path.string());
      }
    }
    LS_RETURN_IF_ERROR(CollectTensors(file, out));
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<Checkpoint>> OpenHfCheckpoint(const std::string& dir_name) {
  const fs::path dir(dir_name);
  LS_ASSIGN_OR_RETURN(JsonObject config_json, JsonObject::Load((dir / "config.json").string()));
  LS_ASSIGN_OR_RETURN(ModelConfig config, ParseHfConfig(config_json));
  std::optional<JsonObject> generation;
  if (Exists(dir / "generation_config.json")) {
    LS_ASSIGN_OR_RETURN(generation, JsonObject::Load((dir / "generation_config.json").string()));
  }
  LS_ASSIGN_OR_RETURN(TokenizerFacts facts, ParseHfTokenizerFacts(config_json, generation));

  std::vector<ImportedTensor> tensors;
  const fs::path index = dir / "model.safetensors.index.json";
  if (Exists(index)) {
    LS_RETURN_IF_ERROR(CollectShards(dir, index, &tensors));
  } else if (Exists(dir / "model.safetensors")) {
    LS_ASSIGN_OR_RETURN(SafetensorsFile file,
                        SafetensorsFile::Open((dir / "model.safetensors").string()));
    LS_RETURN_IF_ERROR(CollectTensors(file, &tensors));
  } else {
    return MakeError(ErrorCode::kNotFound,
                     "{}: no model.safetensors or model.safetensors.index.json", dir_name);
  }
  return CheckpointBuilder::Build(dir_name, config, facts, std::move(tensors));
}

}  // namespace lorashare

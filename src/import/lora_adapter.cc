#include "import/lora_adapter.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <tuple>

#include "import/checkpoint_layout.h"
#include "import/json_object.h"
#include "import/safetensors.h"
#include "import/tensor_names.h"
#include "import/tensor_reorder.h"
#include "import/tensor_shape.h"
#include "import/torch_archive.h"

namespace lorashare {
namespace {

namespace fs = std::filesystem;

// Names a target_modules entry may use for each projection (PEFT/HF,
// torchtune, Meta), in kProjections order.
const std::array<std::vector<std::string_view>, 7> kTargetAliases = {{
    {"q_proj", "wq"},
    {"k_proj", "wk"},
    {"v_proj", "wv"},
    {"o_proj", "output_proj", "wo"},
    {"gate_proj", "w1"},
    {"down_proj", "w2"},
    {"up_proj", "w3"},
}};

// One A or B matrix, located.
struct AdapterTensor {
  std::string module;  // as in the file, without prefix and LoRA suffix
  int32_t layer = 0;
  Projection projection = Projection::kWq;
  bool is_b = false;
  bool meta_order = false;  // torchtune/Meta naming: interleaved RoPE rows
};

std::optional<AdapterTensor> ParseName(std::string_view name) {
  AdapterTensor out;
  std::optional<std::string> canonical;
  constexpr std::string_view kPeftPrefix = "base_model.model.";
  if (name.starts_with(kPeftPrefix)) {
    name.remove_prefix(kPeftPrefix.size());
    if (name.ends_with(".lora_A.weight")) {
      name.remove_suffix(std::string_view(".lora_A.weight").size());
    } else if (name.ends_with(".lora_B.weight")) {
      name.remove_suffix(std::string_view(".lora_B.weight").size());
      out.is_b = true;
    } else {
      return std::nullopt;
    }
    canonical = CanonicalFromHfModule(name);
  } else {
    if (name.ends_with(".lora_a.weight")) {
      name.remove_suffix(std::string_view(".lora_a.weight").size());
    } else if (name.ends_with(".lora_b.weight")) {
      name.remove_suffix(std::string_view(".lora_b.weight").size());
      out.is_b = true;
    } else {
      return std::nullopt;
    }
    canonical = CanonicalFromTorchtuneModule(name);
    out.meta_order = true;
  }
  if (!canonical) return std::nullopt;
  auto split = SplitLayerModule(*canonical, "");
  if (!split) return std::nullopt;
  auto projection = ProjectionFromName(split->rest);
  if (!projection) return std::nullopt;
  out.module = std::string(name);
  out.layer = split->layer;
  out.projection = *projection;
  return out;
}

Result<LoraConfig> ParseConfig(const JsonObject& json, bool* targets_are_regex) {
  LoraConfig config;
  LS_ASSIGN_OR_RETURN(config.rank, json.Int32("r"));
  LS_ASSIGN_OR_RETURN(double alpha, json.Number("lora_alpha"));
  config.alpha = static_cast<float>(alpha);
  LS_ASSIGN_OR_RETURN(config.use_rslora, json.BoolOr("use_rslora", false));
  LS_ASSIGN_OR_RETURN(config.fan_in_fan_out, json.BoolOr("fan_in_fan_out", false));
  LS_ASSIGN_OR_RETURN(config.base_model, json.StringOr("base_model_name_or_path", ""));
  if (!json.Has("target_modules")) {
    return MakeError(ErrorCode::kCorrupt, "{}: missing field \"target_modules\"", json.source());
  }
  LS_ASSIGN_OR_RETURN(config.target_modules, json.StringOrList("target_modules"));
  *targets_are_regex = json.json()["target_modules"].is_string();
  if (config.rank <= 0) {
    return MakeError(ErrorCode::kCorrupt, "{}: field \"r\" must be positive, got {}", json.source(),
                     config.rank);
  }
  LS_ASSIGN_OR_RETURN(bool dora, json.BoolOr("use_dora", false));
  if (dora) {
    return MakeError(ErrorCode::kUnsupported, "{}: field \"use_dora\" = true is not supported",
                     json.source());
  }
  for (const char* field : {"rank_pattern", "alpha_pattern"}) {
    auto it = json.json().find(field);
    if (it != json.json().end() && !it->is_null() && !it->empty()) {
      return MakeError(ErrorCode::kUnsupported,
                       "{}: field \"{}\" (per-module ranks) is not supported", json.source(),
                       field);
    }
  }
  return config;
}

// PEFT semantics: a list entry matches a module named exactly so or ending in
// ".<entry>"; a single string is a regular expression over the whole name.
bool Targeted(const LoraConfig& config, bool regex, const AdapterTensor& tensor) {
  if (regex) {
    const std::string& pattern = config.target_modules.front();
    if (pattern == "all-linear") return true;
    try {
      return std::regex_match(tensor.module, std::regex(pattern));
    } catch (const std::regex_error&) {
      return false;
    }
  }
  const auto& aliases = kTargetAliases[static_cast<size_t>(tensor.projection)];
  for (const std::string& entry : config.target_modules) {
    if (std::find(aliases.begin(), aliases.end(), entry) != aliases.end()) return true;
    if (tensor.module == entry || tensor.module.ends_with("." + entry)) return true;
  }
  return false;
}

Result<std::vector<TensorRef>> LoadTensors(const std::string& path) {
  if (path.ends_with(".safetensors")) {
    LS_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Open(path));
    return file.tensors();
  }
  LS_ASSIGN_OR_RETURN(TorchArchive archive, TorchArchive::Open(path));
  return archive.tensors();
}

// Where the config and the weights are, for a directory or a weights file.
Result<std::pair<std::string, std::string>> Locate(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const char* name :
         {"adapter_model.safetensors", "adapter_model.pt", "adapter_model.bin"}) {
      fs::path weights = fs::path(path) / name;
      if (fs::exists(weights, ec)) {
        return std::make_pair((fs::path(path) / "adapter_config.json").string(), weights.string());
      }
    }
    return MakeError(ErrorCode::kNotFound,
                     "{}: no adapter_model.safetensors, adapter_model.pt or adapter_model.bin",
                     path);
  }
  if (!fs::exists(path, ec)) return MakeError(ErrorCode::kNotFound, "{}: no such file", path);
  return std::make_pair((fs::path(path).parent_path() / "adapter_config.json").string(), path);
}

}  // namespace

float LoraConfig::scale() const {
  if (rank <= 0) return 0.0f;
  return use_rslora ? alpha / std::sqrt(static_cast<float>(rank))
                    : alpha / static_cast<float>(rank);
}

class LoraAdapterBuilder {
 public:
  static Result<std::unique_ptr<LoraAdapter>> Build(const std::string& path) {
    auto adapter = std::unique_ptr<LoraAdapter>(new LoraAdapter());
    adapter->path_ = path;
    LS_ASSIGN_OR_RETURN(auto files, Locate(path));
    adapter->weights_path_ = files.second;
    LS_ASSIGN_OR_RETURN(JsonObject config_json, JsonObject::Load(files.first));
    bool regex = false;
    LS_ASSIGN_OR_RETURN(adapter->config_, ParseConfig(config_json, &regex));
    LS_ASSIGN_OR_RETURN(auto tensors, LoadTensors(files.second));
    LS_RETURN_IF_ERROR(Pair(*adapter, regex, std::move(tensors)));
    return adapter;
  }

 private:
  using Key = std::tuple<int32_t, Projection>;
  struct Halves {
    std::optional<TensorRef> a, b;
    AdapterTensor where;
  };

  static Status Pair(LoraAdapter& adapter, bool regex, std::vector<TensorRef> tensors) {
    const std::string& file = adapter.weights_path_;
    const LoraConfig& config = adapter.config_;
    std::map<Key, Halves> halves;
    std::optional<bool> meta_order;
    for (TensorRef& tensor : tensors) {
      auto parsed = ParseName(tensor.name);
      if (!parsed) {
        return MakeError(ErrorCode::kCorrupt, "{}: unknown tensor {}", file, tensor.name);
      }
      if (meta_order && *meta_order != parsed->meta_order) {
        return MakeError(ErrorCode::kCorrupt, "{}: tensor {} mixes PEFT and torchtune naming", file,
                         tensor.name);
      }
      meta_order = parsed->meta_order;
      if (!Targeted(config, regex, *parsed)) {
        return MakeError(ErrorCode::kMismatch,
                         "{}: tensor {} adapts {}, which target_modules does not list", file,
                         tensor.name, parsed->module);
      }
      LS_ASSIGN_OR_RETURN(tensor, Normalize(std::move(tensor), config, file));
      Halves& slot = halves[{parsed->layer, parsed->projection}];
      std::optional<TensorRef>& half = parsed->is_b ? slot.b : slot.a;
      if (half) return MakeError(ErrorCode::kCorrupt, "{}: tensor {} twice", file, tensor.name);
      half = std::move(tensor);
      slot.where = *parsed;
    }
    for (auto& [key, slot] : halves) {
      const std::string target = ProjectionTarget(std::get<0>(key), std::get<1>(key));
      if (!slot.a || !slot.b) {
        return MakeError(ErrorCode::kCorrupt, "{}: {} has lora_{} but no lora_{}", file,
                         (slot.a ? slot.a : slot.b)->name, slot.a ? "A" : "B", slot.a ? "B" : "A");
      }
      LS_RETURN_IF_ERROR(CheckRank(*slot.a, *slot.b, config.rank, file));
      slot.a->name = target + ".lora_a";
      slot.b->name = target + ".lora_b";
      adapter.pairs_.push_back({target, std::move(*slot.a), std::move(*slot.b)});
    }
    if (adapter.pairs_.empty()) {
      return MakeError(ErrorCode::kCorrupt, "{}: no LoRA tensors", file);
    }
    adapter.rope_rows_interleaved_ = meta_order.value_or(false);
    return OkStatus();
  }

  // A 2-D float matrix in (rank, in) / (out, rank) orientation.
  static Result<TensorRef> Normalize(TensorRef tensor, const LoraConfig& config,
                                     const std::string& file) {
    if (tensor.shape.size() != 2) {
      return MakeError(ErrorCode::kCorrupt, "{}: tensor {} has shape {}, expected a matrix", file,
                       tensor.name, ShapeString(tensor.shape));
    }
    if (tensor.dtype != DType::kF32 && tensor.dtype != DType::kF16 &&
        tensor.dtype != DType::kBF16) {
      return MakeError(ErrorCode::kUnsupported, "{}: tensor {} has dtype {}; f32/f16/bf16 expected",
                       file, tensor.name, DTypeName(tensor.dtype));
    }
    if (!config.fan_in_fan_out) return tensor;
    return Transpose2d(tensor);
  }

  static Status CheckRank(const TensorRef& a, const TensorRef& b, int32_t rank,
                          const std::string& file) {
    if (a.shape[0] != rank) {
      return MakeError(ErrorCode::kMismatch, "{}: {} has rank {} (shape {}), adapter_config r = {}",
                       file, a.name, a.shape[0], ShapeString(a.shape), rank);
    }
    if (b.shape[1] != rank) {
      return MakeError(ErrorCode::kMismatch, "{}: {} has rank {} (shape {}), adapter_config r = {}",
                       file, b.name, b.shape[1], ShapeString(b.shape), rank);
    }
    return OkStatus();
  }
};

Result<std::unique_ptr<LoraAdapter>> LoraAdapter::Open(const std::string& path) {
  return LoraAdapterBuilder::Build(path);
}

Status LoraAdapter::CheckAgainst(const ModelConfig& base, const std::string& base_source) {
  const std::string file = fs::path(weights_path_).filename().string();
  for (const LoraPair& pair : pairs_) {
    auto split = SplitLayerModule(pair.target, "");
    if (!split || split->layer >= base.n_layers) {
      return MakeError(ErrorCode::kMismatch, "{}: {}: the base ({}) has only {} layers", file,
                       pair.target, base_source, base.n_layers);
    }
    LinearShape shape = ProjectionShape(base, *ProjectionFromName(split->rest));
    if (pair.b.shape[0] != shape.out_features) {
      return MakeError(ErrorCode::kMismatch,
                       "{}: {}: lora_B has {} rows, the base projection has {} outputs ({})", file,
                       pair.target, pair.b.shape[0], shape.out_features, base_source);
    }
    if (pair.a.shape[1] != shape.in_features) {
      return MakeError(ErrorCode::kMismatch,
                       "{}: {}: lora_A has {} columns, the base projection has {} inputs ({})",
                       file, pair.target, pair.a.shape[1], shape.in_features, base_source);
    }
  }
  if (rope_rows_interleaved_) {
    for (LoraPair& pair : pairs_) {
      if (pair.target.ends_with(".attention.wq") || pair.target.ends_with(".attention.wk")) {
        LS_ASSIGN_OR_RETURN(pair.b, ReorderRopeRows(pair.b, base.head_dim, RopeRowOrder::kHalves));
      }
    }
    rope_rows_interleaved_ = false;
  }
  return OkStatus();
}

}  // namespace lorashare

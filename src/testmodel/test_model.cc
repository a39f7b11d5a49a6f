#include "testmodel/test_model.h"

#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/output_file.h"
#include "import/checkpoint_layout.h"
#include "import/tensor_names.h"
#include "import/tensor_reorder.h"
#include "testmodel/gguf_writer.h"
#include "testmodel/hf_config_json.h"
#include "testmodel/hf_names.h"
#include "testmodel/presets.h"
#include "testmodel/safetensors_writer.h"
#include "testmodel/synthetic_vocab.h"
#include "testmodel/synthetic_weights.h"
#include "testmodel/torch_writer.h"

namespace lorashare {
namespace {

using Json = nlohmann::ordered_json;

Json AdapterConfig(const AdapterPreset& adapter, const ModelPreset& base) {
  return {{"base_model_name_or_path", "lorashare/synthetic-" + base.name},
          {"peft_type", "LORA"},
          {"task_type", "CAUSAL_LM"},
          {"r", adapter.rank},
          {"lora_alpha", adapter.alpha},
          {"lora_dropout", 0.0},
          {"use_rslora", adapter.use_rslora},
          {"fan_in_fan_out", false},
          {"bias", "none"},
          {"target_modules", adapter.targets}};
}

Status WriteTokenizer(const std::string& dir, const ModelPreset& preset) {
  SyntheticVocab vocab = BuildSyntheticVocab(preset.base_vocab);
  if (preset.tokenizer == TokenizerFormat::kTiktoken) {
    return WriteTiktokenModel(dir + "/tokenizer.model", vocab);
  }
  return WriteHfTokenizer(dir, vocab, preset.special_tokens, preset.facts,
                          preset.config.max_context);
}

// Renames canonical tensors to their Hugging Face names (same bytes).
std::vector<TensorRef> AsHfTensors(const std::vector<TensorRef>& tensors) {
  std::vector<TensorRef> renamed = tensors;
  for (auto& t : renamed) t.name = HfTensorName(t.name);
  return renamed;
}

// PEFT names: base_model.model.<hf module>.lora_A.weight / lora_B.weight.
std::vector<TensorRef> AsPeftTensors(const std::vector<LoraPair>& pairs) {
  std::vector<TensorRef> tensors;
  for (const auto& pair : pairs) {
    std::string module = HfTensorName(pair.target + ".weight");
    module.resize(module.size() - std::string_view(".weight").size());
    TensorRef a = pair.a;
    TensorRef b = pair.b;
    a.name = "base_model.model." + module + ".lora_A.weight";
    b.name = "base_model.model." + module + ".lora_B.weight";
    tensors.push_back(std::move(a));
    tensors.push_back(std::move(b));
  }
  return tensors;
}

Status CreateDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return MakeError(ErrorCode::kIo, "{}: cannot create directory: {}", dir, ec.message());
  return OkStatus();
}

bool IsRopeProjection(std::string_view canonical) {
  return canonical.ends_with("attention.wq.weight") || canonical.ends_with("attention.wk.weight");
}

// Meta stores q/k rows (and the LoRA B rows on them) in interleaved RoPE order.
Result<TensorRef> ToMetaRopeOrder(const TensorRef& tensor, const ModelConfig& config) {
  return ReorderRopeRows(tensor, config.head_dim, RopeRowOrder::kInterleaved);
}

Json MetaParams(const ModelConfig& c) {
  // multiple_of = hidden_dim makes Meta's feed-forward formula give hidden_dim
  // (its base size, 8 * dim / 3, is below hidden_dim for every preset).
  Json params = {{"dim", c.dim},
                 {"n_layers", c.n_layers},
                 {"n_heads", c.n_heads},
                 {"n_kv_heads", c.n_kv_heads},
                 {"vocab_size", c.vocab_size},
                 {"multiple_of", c.hidden_dim},
                 {"norm_eps", c.norm_eps},
                 {"rope_theta", c.rope_theta},
                 {"use_scaled_rope", c.rope_scaling.enabled},
                 {"max_seq_len", c.max_context}};
  if (c.rope_scaling.enabled) params["rope_scale_factor"] = c.rope_scaling.factor;
  return params;
}

Status WriteMetaCheckpoint(const std::string& dir, const ModelPreset& preset,
                           const std::vector<TensorRef>& weights) {
  if (preset.config.arch != Architecture::kLlama ||
      preset.config.head_dim * preset.config.n_heads != preset.config.dim) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "make-test-model: --meta-out needs a Llama preset, not {}", preset.name);
  }
  std::vector<TensorRef> tensors;
  for (const auto& t : weights) {
    if (IsRopeProjection(t.name)) {
      LS_ASSIGN_OR_RETURN(TensorRef permuted, ToMetaRopeOrder(t, preset.config));
      tensors.push_back(std::move(permuted));
    } else {
      tensors.push_back(t);
    }
  }
  LS_RETURN_IF_ERROR(CreateDirectory(dir));
  LS_RETURN_IF_ERROR(WriteTorchCheckpoint(dir + "/consolidated.00.pth", tensors));
  LS_RETURN_IF_ERROR(WriteWholeFile(dir + "/params.json", MetaParams(preset.config).dump(2)));
  return WriteTokenizer(dir, preset);
}

// torchtune names: layers.N.attn.q_proj.lora_a.weight / lora_b.weight.
Status WriteTorchtuneAdapter(const std::string& dir, const ModelPreset& preset,
                             const AdapterPreset& adapter, const std::vector<LoraPair>& pairs) {
  std::vector<TensorRef> tensors;
  for (const auto& pair : pairs) {
    auto layer = SplitLayerModule(pair.target, "");
    auto projection = layer ? ProjectionFromName(layer->rest) : std::nullopt;
    if (!projection) {
      return MakeError(ErrorCode::kInternal, "no torchtune name for {}", pair.target);
    }
    const std::string module =
        fmt::format("layers.{}.{}", layer->layer, TorchtuneModuleName(*projection));
    TensorRef a = pair.a;
    TensorRef b = pair.b;
    if (IsRopeProjection(pair.target + ".weight")) {
      LS_ASSIGN_OR_RETURN(b, ToMetaRopeOrder(pair.b, preset.config));
    }
    a.name = module + ".lora_a.weight";
    b.name = module + ".lora_b.weight";
    tensors.push_back(std::move(a));
    tensors.push_back(std::move(b));
  }
  LS_RETURN_IF_ERROR(WriteTorchCheckpoint(dir + "/adapter_model.pt", tensors));
  return WriteWholeFile(dir + "/adapter_config.json", AdapterConfig(adapter, preset).dump(2));
}

Status WriteHfCheckpoint(const TestModelOptions& options, const ModelPreset& preset,
                         const std::vector<TensorRef>& weights) {
  const std::string& dir = options.out_dir;
  LS_RETURN_IF_ERROR(CreateDirectory(dir));
  LS_RETURN_IF_ERROR(
      WriteSafetensors(dir + "/model.safetensors", AsHfTensors(weights), {{"format", "pt"}}));
  const Json config = HfConfigJson(preset.config, preset.facts, options.dtype);
  LS_RETURN_IF_ERROR(WriteWholeFile(dir + "/config.json", config.dump(2)));
  const Json generation = {{"bos_token_id", config["bos_token_id"]},
                           {"eos_token_id", config["eos_token_id"]}};
  LS_RETURN_IF_ERROR(WriteWholeFile(dir + "/generation_config.json", generation.dump(2)));
  return WriteTokenizer(dir, preset);
}

uint64_t ElementCount(const std::vector<TensorRef>& tensors) {
  uint64_t n = 0;
  for (const auto& t : tensors) n += static_cast<uint64_t>(t.element_count());
  return n;
}

}  // namespace

Result<TestModelReport> MakeTestModel(const TestModelOptions& options) {
  if (options.out_dir.empty() && options.gguf_path.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "make-test-model: an output directory (or a GGUF file) is needed");
  }
  if (options.dtype != DType::kF32 && options.dtype != DType::kBF16 &&
      options.dtype != DType::kF16) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "make-test-model: --dtype must be f32, bf16 or f16");
  }
  LS_ASSIGN_OR_RETURN(ModelPreset preset, FindModelPreset(options.preset));
  TestModelReport report;
  std::vector<TensorRef> weights = GenerateBaseWeights(preset.config, options.seed, options.dtype);
  report.parameters = ElementCount(weights);
  for (const auto& t : weights) report.weight_bytes += t.bytes.size();

  if (!options.out_dir.empty()) LS_RETURN_IF_ERROR(WriteHfCheckpoint(options, preset, weights));
  if (!options.meta_out_dir.empty()) {
    LS_RETURN_IF_ERROR(WriteMetaCheckpoint(options.meta_out_dir, preset, weights));
  }
  if (!options.gguf_path.empty()) {
    LS_RETURN_IF_ERROR(WriteModelGguf(options.gguf_path, preset.config, preset.facts, weights,
                                      {.matrix_type = options.gguf_type}));
  }

  if (options.lora_out_dir.empty()) {
    if (!options.lora_gguf_path.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "make-test-model: --lora-gguf needs --lora-out");
    }
    return report;
  }
  LS_ASSIGN_OR_RETURN(AdapterPreset adapter, FindAdapterPreset(options.adapter_preset));
  std::vector<LoraPair> pairs = GenerateAdapterWeights(preset.config, adapter, options.seed + 1);
  for (const auto& p : pairs) {
    report.adapter_parameters += static_cast<uint64_t>(p.a.element_count() + p.b.element_count());
  }
  LS_RETURN_IF_ERROR(CreateDirectory(options.lora_out_dir));
  LS_RETURN_IF_ERROR(WriteSafetensors(options.lora_out_dir + "/adapter_model.safetensors",
                                      AsPeftTensors(pairs), {{"format", "pt"}}));
  LS_RETURN_IF_ERROR(WriteWholeFile(options.lora_out_dir + "/adapter_config.json",
                                    AdapterConfig(adapter, preset).dump(2)));
  if (!options.meta_out_dir.empty()) {
    LS_RETURN_IF_ERROR(WriteTorchtuneAdapter(options.meta_out_dir, preset, adapter, pairs));
  }
  if (!options.lora_gguf_path.empty()) {
    LoraConfig config{adapter.rank, adapter.alpha, adapter.use_rslora, false, adapter.targets, ""};
    LS_RETURN_IF_ERROR(WriteLoraGguf(options.lora_gguf_path, pairs, config.scale(), preset.config));
  }
  return report;
}

}  // namespace lorashare

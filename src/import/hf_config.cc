#include "import/hf_config.h"

#include <fmt/ranges.h>

#include <algorithm>

namespace lorashare {
namespace {

Result<Architecture> ParseArchitecture(const JsonObject& config) {
  LS_ASSIGN_OR_RETURN(auto architectures, config.StringOrList("architectures"));
  for (const std::string& name : architectures) {
    if (name == "LlamaForCausalLM") return Architecture::kLlama;
    if (name == "Qwen3ForCausalLM") return Architecture::kQwen3;
  }
  LS_ASSIGN_OR_RETURN(std::string model_type, config.StringOr("model_type", ""));
  if (model_type == "llama") return Architecture::kLlama;
  if (model_type == "qwen3") return Architecture::kQwen3;
  return MakeError(ErrorCode::kUnsupported,
                   "{}: fields \"architectures\" / \"model_type\" name no supported model "
                   "(LlamaForCausalLM / llama, Qwen3ForCausalLM / qwen3), got {} / \"{}\"",
                   config.source(), fmt::join(architectures, ","), model_type);
}

Result<RopeScaling> ParseRopeScaling(const JsonObject& config) {
  RopeScaling scaling;
  LS_ASSIGN_OR_RETURN(auto object, config.ObjectOr("rope_scaling"));
  if (!object) return scaling;
  std::string type;
  if (object->Has("rope_type")) {
    LS_ASSIGN_OR_RETURN(type, object->String("rope_type"));
  } else {
    LS_ASSIGN_OR_RETURN(type, object->String("type"));
  }
  if (type == "default") return scaling;
  if (type != "llama3") {
    return MakeError(ErrorCode::kUnsupported,
                     "{}: field \"rope_type\" is \"{}\"; only \"llama3\" scaling is supported",
                     object->source(), type);
  }
  scaling.enabled = true;
  LS_ASSIGN_OR_RETURN(double factor, object->Number("factor"));
  LS_ASSIGN_OR_RETURN(double low, object->Number("low_freq_factor"));
  LS_ASSIGN_OR_RETURN(double high, object->Number("high_freq_factor"));
  LS_ASSIGN_OR_RETURN(scaling.original_max_position,
                      object->Int32("original_max_position_embeddings"));
  scaling.factor = static_cast<float>(factor);
  scaling.low_freq_factor = static_cast<float>(low);
  scaling.high_freq_factor = static_cast<float>(high);
  return scaling;
}

// Variants of the architecture this runtime does not implement.
Status RejectUnsupportedOptions(const JsonObject& config) {
  for (const char* field : {"attention_bias", "mlp_bias"}) {
    LS_ASSIGN_OR_RETURN(bool set, config.BoolOr(field, false));
    if (set) {
      return MakeError(ErrorCode::kUnsupported, "{}: field \"{}\" = true is not supported",
                       config.source(), field);
    }
  }
  LS_ASSIGN_OR_RETURN(std::string act, config.StringOr("hidden_act", "silu"));
  if (act != "silu") {
    return MakeError(ErrorCode::kUnsupported,
                     "{}: field \"hidden_act\" is \"{}\"; only \"silu\" is supported",
                     config.source(), act);
  }
  return OkStatus();
}

}  // namespace

Result<ModelConfig> ParseHfConfig(const JsonObject& config) {
  ModelConfig out;
  LS_ASSIGN_OR_RETURN(out.arch, ParseArchitecture(config));
  LS_RETURN_IF_ERROR(RejectUnsupportedOptions(config));
  LS_ASSIGN_OR_RETURN(out.dim, config.Int32("hidden_size"));
  LS_ASSIGN_OR_RETURN(out.n_layers, config.Int32("num_hidden_layers"));
  LS_ASSIGN_OR_RETURN(out.n_heads, config.Int32("num_attention_heads"));
  LS_ASSIGN_OR_RETURN(out.n_kv_heads, config.Int32Or("num_key_value_heads", out.n_heads));
  LS_ASSIGN_OR_RETURN(out.hidden_dim, config.Int32("intermediate_size"));
  LS_ASSIGN_OR_RETURN(out.vocab_size, config.Int32("vocab_size"));
  LS_ASSIGN_OR_RETURN(out.max_context, config.Int32("max_position_embeddings"));
  LS_ASSIGN_OR_RETURN(double eps, config.Number("rms_norm_eps"));
  LS_ASSIGN_OR_RETURN(double theta, config.NumberOr("rope_theta", 10000.0));
  out.norm_eps = static_cast<float>(eps);
  out.rope_theta = static_cast<float>(theta);
  if (out.n_heads <= 0) {
    return MakeError(ErrorCode::kCorrupt, "{}: field \"num_attention_heads\" must be positive",
                     config.source());
  }
  LS_ASSIGN_OR_RETURN(out.head_dim, config.Int32Or("head_dim", out.dim / out.n_heads));
  LS_ASSIGN_OR_RETURN(out.rope_scaling, ParseRopeScaling(config));
  LS_ASSIGN_OR_RETURN(out.tied_embeddings, config.BoolOr("tie_word_embeddings", false));
  out.qk_norm = out.arch == Architecture::kQwen3;
  LS_RETURN_IF_ERROR(out.Validate(config.source()));
  return out;
}

Result<TokenizerFacts> ParseHfTokenizerFacts(const JsonObject& config,
                                             const std::optional<JsonObject>& generation_config) {
  TokenizerFacts facts;
  LS_ASSIGN_OR_RETURN(auto bos, config.Int32OrList("bos_token_id"));
  LS_ASSIGN_OR_RETURN(facts.eos_ids, config.Int32OrList("eos_token_id"));
  if (generation_config) {
    if (bos.empty()) {
      LS_ASSIGN_OR_RETURN(bos, generation_config->Int32OrList("bos_token_id"));
    }
    LS_ASSIGN_OR_RETURN(auto eos, generation_config->Int32OrList("eos_token_id"));
    for (int32_t id : eos) {
      if (std::find(facts.eos_ids.begin(), facts.eos_ids.end(), id) == facts.eos_ids.end()) {
        facts.eos_ids.push_back(id);
      }
    }
  }
  if (bos.size() > 1) {
    return MakeError(ErrorCode::kCorrupt, "{}: field \"bos_token_id\" must be one token id",
                     config.source());
  }
  if (!bos.empty()) facts.bos_id = bos[0];
  return facts;
}

}  // namespace lorashare

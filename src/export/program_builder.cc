#include "export/program_builder.h"

#include <fmt/format.h>

namespace lorashare {
namespace {

// Appends instructions to a ProgramSpec; the named values are the
// activations of the forward pass, reused by every layer.
class Emitter {
 public:
  Emitter(const ProgramBuildInput& input, ProgramSpec* spec) : input_(input), spec_(spec) {}

  Status Build() {
    const ModelConfig& m = input_.model;
    const int32_t q_width = m.n_heads * m.head_dim;
    const int32_t kv_width = m.n_kv_heads * m.head_dim;
    tokens_ = AddValue("tokens", 1);
    x_ = AddValue("x", m.dim);
    h_ = AddValue("h", m.dim);
    q_ = AddValue("q", q_width);
    k_ = AddValue("k", kv_width);
    v_ = AddValue("v", kv_width);
    attn_ = AddValue("attn", q_width);
    o_ = AddValue("o", m.dim);
    gate_ = AddValue("gate", m.hidden_dim);
    up_ = AddValue("up", m.hidden_dim);
    ff_ = AddValue("ff", m.hidden_dim);
    last_ = AddValue("last", m.dim);
    logits_ = AddValue("logits", m.vocab_size);
    spec_->input_value = tokens_;
    spec_->output_value = logits_;

    LS_ASSIGN_OR_RETURN(int32_t embedding, input_.tensor_index("tok_embeddings.weight"));
    Emit(OpCode::kEmbedding, {tokens_}, {x_}, {embedding});
    for (int32_t layer = 0; layer < m.n_layers; ++layer) {
      LS_RETURN_IF_ERROR(EmitAttentionBlock(layer));
      LS_RETURN_IF_ERROR(EmitFeedForwardBlock(layer));
    }
    Emit(OpCode::kLastToken, {x_}, {last_}, {});
    LS_RETURN_IF_ERROR(EmitNorm("norm.weight", last_, last_, m.dim));
    LS_ASSIGN_OR_RETURN(
        int32_t output,
        input_.tensor_index(m.tied_embeddings && !input_.separate_output ? "tok_embeddings.weight"
                                                                         : "output.weight"));
    Emit(OpCode::kLinear, {last_}, {logits_}, {output});
    return OkStatus();
  }

 private:
  Status EmitAttentionBlock(int32_t layer) {
    const ModelConfig& m = input_.model;
    const std::string prefix = fmt::format("layers.{}.attention", layer);
    LS_RETURN_IF_ERROR(
        EmitNorm(fmt::format("layers.{}.attention_norm.weight", layer), x_, h_, m.dim));
    LS_RETURN_IF_ERROR(EmitProjection(prefix + ".wq", h_, q_));
    LS_RETURN_IF_ERROR(EmitProjection(prefix + ".wk", h_, k_));
    LS_RETURN_IF_ERROR(EmitProjection(prefix + ".wv", h_, v_));
    if (m.qk_norm) {
      LS_RETURN_IF_ERROR(EmitNorm(prefix + ".q_norm.weight", q_, q_, m.head_dim));
      LS_RETURN_IF_ERROR(EmitNorm(prefix + ".k_norm.weight", k_, k_, m.head_dim));
    }
    Emit(OpCode::kRope, {q_}, {q_}, {}, {m.n_heads, m.head_dim});
    Emit(OpCode::kRope, {k_}, {k_}, {}, {m.n_kv_heads, m.head_dim});
    Emit(OpCode::kAttention, {q_, k_, v_}, {attn_}, {},
         {layer, m.n_heads, m.n_kv_heads, m.head_dim});
    LS_RETURN_IF_ERROR(EmitProjection(prefix + ".wo", attn_, o_));
    Emit(OpCode::kAdd, {x_, o_}, {x_}, {});
    return OkStatus();
  }

  Status EmitFeedForwardBlock(int32_t layer) {
    const std::string prefix = fmt::format("layers.{}.feed_forward", layer);
    LS_RETURN_IF_ERROR(
        EmitNorm(fmt::format("layers.{}.ffn_norm.weight", layer), x_, h_, input_.model.dim));
    LS_RETURN_IF_ERROR(EmitProjection(prefix + ".w1", h_, gate_));
    LS_RETURN_IF_ERROR(EmitProjection(prefix + ".w3", h_, up_));
    Emit(OpCode::kSwiGlu, {gate_, up_}, {ff_}, {});
    LS_RETURN_IF_ERROR(EmitProjection(prefix + ".w2", ff_, o_));
    Emit(OpCode::kAdd, {x_, o_}, {x_}, {});
    return OkStatus();
  }

  // LINEAR, then LORA when the projection is adapted.
  Status EmitProjection(const std::string& target, int32_t in, int32_t out) {
    LS_ASSIGN_OR_RETURN(int32_t weight, input_.tensor_index(target + ".weight"));
    Emit(OpCode::kLinear, {in}, {out}, {weight});
    auto lora = input_.lora.find(target);
    if (lora != input_.lora.end()) {
      Emit(OpCode::kLora, {in, out}, {out}, {lora->second.a, lora->second.b}, {},
           {input_.lora_scale});
    }
    return OkStatus();
  }

  // RMS_NORM over groups of `group` elements (the whole row, or one head).
  Status EmitNorm(const std::string& weight_name, int32_t in, int32_t out, int32_t group) {
    LS_ASSIGN_OR_RETURN(int32_t weight, input_.tensor_index(weight_name));
    Emit(OpCode::kRmsNorm, {in}, {out}, {weight}, {group}, {input_.model.norm_eps});
    return OkStatus();
  }

  int32_t AddValue(const std::string& name, int32_t width) {
    spec_->values.push_back({name, width});
    return static_cast<int32_t>(spec_->values.size() - 1);
  }

  void Emit(OpCode op, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
            std::vector<int32_t> tensors, std::vector<int64_t> int_args = {},
            std::vector<float> float_args = {}) {
    spec_->instructions.push_back({op, std::move(inputs), std::move(outputs), std::move(tensors),
                                   std::move(int_args), std::move(float_args)});
  }

  const ProgramBuildInput& input_;
  ProgramSpec* spec_;
  int32_t tokens_ = -1, x_ = -1, h_ = -1, q_ = -1, k_ = -1, v_ = -1, attn_ = -1, o_ = -1;
  int32_t gate_ = -1, up_ = -1, ff_ = -1, last_ = -1, logits_ = -1;
};

}  // namespace

Status BuildInstructions(const ProgramBuildInput& input, ProgramSpec* spec) {
  return Emitter(input, spec).Build();
}

}  // namespace lorashare

#include "testmodel/gguf_writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numbers>
#include <vector>

#include "base/output_file.h"
#include "import/tensor_reorder.h"
#include "kernels/convert.h"

namespace lorashare {
namespace {

constexpr uint32_t kGgufVersion = 3;
constexpr uint64_t kAlignment = 32;  // llama.cpp's default general.alignment

// gguf_type in ggml's gguf.h.
enum class GgufValueType : uint32_t {
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kString = 8,
  kArray = 9,
};

// llama_token_type in llama.cpp's vocabulary.
constexpr int32_t kTokenNormal = 1;
constexpr int32_t kTokenControl = 3;

// llama_ftype: what most tensors are stored as.
uint32_t FileType(GgmlType matrix_type) {
  switch (matrix_type) {
    case GgmlType::kF32:
      return 0;  // LLAMA_FTYPE_ALL_F32
    case GgmlType::kF16:
      return 1;  // LLAMA_FTYPE_MOSTLY_F16
    case GgmlType::kQ4_0:
      return 2;  // LLAMA_FTYPE_MOSTLY_Q4_0
    case GgmlType::kQ8_0:
      return 7;  // LLAMA_FTYPE_MOSTLY_Q8_0
  }
  return 0;
}

uint64_t AlignUp(uint64_t value) { return (value + kAlignment - 1) / kAlignment * kAlignment; }

// A tensor to write: where its bytes come from and how they are transformed.
struct PendingTensor {
  std::string name;
  std::vector<int64_t> shape;      // row-major (numpy order)
  GgmlType type = GgmlType::kF32;  // as stored in the GGUF
  std::span<const uint8_t> source;
  DType source_dtype = DType::kF32;
  // > 0: permute the rows of each of this many heads from rotate-half order to
  // adjacent pairs.
  int32_t permute_heads = 0;
  std::vector<uint8_t> owned;  // backs `source` for generated tensors

  uint64_t byte_size() const {
    uint64_t rows = 1;
    for (size_t i = 0; i + 1 < shape.size(); ++i) rows *= static_cast<uint64_t>(shape[i]);
    return rows * static_cast<uint64_t>(GgmlRowBytes(type, shape.back()));
  }
};

// Collects metadata and tensors, then writes header, tensor infos and aligned
// data in one pass.
class GgufBuilder {
 public:
  void AddString(std::string_view key, std::string_view value) {
    AppendKey(key, GgufValueType::kString);
    AppendString(value);
    ++kv_count_;
  }
  void AddU32(std::string_view key, uint32_t value) {
    AppendKey(key, GgufValueType::kUint32);
    AppendPod(value);
    ++kv_count_;
  }
  void AddF32(std::string_view key, float value) {
    AppendKey(key, GgufValueType::kFloat32);
    AppendPod(value);
    ++kv_count_;
  }
  void AddStringArray(std::string_view key, const std::vector<std::string>& values) {
    AppendKey(key, GgufValueType::kArray);
    AppendPod(static_cast<uint32_t>(GgufValueType::kString));
    AppendPod(static_cast<uint64_t>(values.size()));
    for (const std::string& value : values) AppendString(value);
    ++kv_count_;
  }
  void AddI32Array(std::string_view key, const std::vector<int32_t>& values) {
    AppendKey(key, GgufValueType::kArray);
    AppendPod(static_cast<uint32_t>(GgufValueType::kInt32));
    AppendPod(static_cast<uint64_t>(values.size()));
    for (int32_t value : values) AppendPod(value);
    ++kv_count_;
  }
  void AddTensor(PendingTensor tensor) { tensors_.push_back(std::move(tensor)); }

  Status Write(const std::string& path) const;

 private:
  template <typename T>
  void AppendPod(T value) {
    metadata_.append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  void AppendString(std::string_view text) {
    AppendPod(static_cast<uint64_t>(text.size()));
    metadata_.append(text);
  }
  void AppendKey(std::string_view key, GgufValueType type) {
    AppendString(key);
    AppendPod(static_cast<uint32_t>(type));
  }

  std::string metadata_;
  uint64_t kv_count_ = 0;
  std::vector<PendingTensor> tensors_;
};

// The tensor's bytes as stored: rows permuted in f32, then encoded (blocks
// run along rows, so permuting rows first or last gives the same blocks).
Result<std::vector<uint8_t>> TensorBytes(const PendingTensor& tensor) {
  const size_t count = tensor.source.size() / DTypeSize(tensor.source_dtype);
  std::vector<float> values(count);
  ConvertToF32(tensor.source_dtype, tensor.source.data(), count, values.data());
  if (tensor.permute_heads != 0) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(values.data());
    TensorRef view{tensor.name, DType::kF32, tensor.shape,
                   std::span<const uint8_t>(bytes, count * sizeof(float)), nullptr};
    LS_ASSIGN_OR_RETURN(
        TensorRef permuted,
        ReorderRopeRows(view, static_cast<int32_t>(tensor.shape[0] / tensor.permute_heads),
                        RopeRowOrder::kInterleaved));
    std::memcpy(values.data(), permuted.bytes.data(), permuted.bytes.size());
  }
  auto encoded = GgmlEncode(tensor.type, values);
  if (!encoded.ok()) {
    return MakeError(ErrorCode::kInvalidArgument, "tensor {}: {}", tensor.name,
                     encoded.error().message());
  }
  return std::move(*encoded);
}

Status GgufBuilder::Write(const std::string& path) const {
  std::string header;
  auto append = [&header](const auto& value) {
    header.append(reinterpret_cast<const char*>(&value), sizeof(value));
  };
  header.append("GGUF");
  append(kGgufVersion);
  append(static_cast<uint64_t>(tensors_.size()));
  append(kv_count_);
  header.append(metadata_);
  uint64_t offset = 0;
  for (const PendingTensor& tensor : tensors_) {
    append(static_cast<uint64_t>(tensor.name.size()));
    header.append(tensor.name);
    append(static_cast<uint32_t>(tensor.shape.size()));
    for (auto dim = tensor.shape.rbegin(); dim != tensor.shape.rend(); ++dim) {
      append(static_cast<uint64_t>(*dim));
    }
    append(static_cast<uint32_t>(tensor.type));
    append(offset);
    offset = AlignUp(offset + tensor.byte_size());
  }

  LS_ASSIGN_OR_RETURN(auto file, OutputFile::Create(path));
  LS_RETURN_IF_ERROR(file->Write(header));
  LS_RETURN_IF_ERROR(file->WriteZeros(AlignUp(header.size()) - header.size()));
  for (const PendingTensor& tensor : tensors_) {
    LS_ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, TensorBytes(tensor));
    LS_RETURN_IF_ERROR(file->Write(bytes));
    LS_RETURN_IF_ERROR(file->WriteZeros(AlignUp(bytes.size()) - bytes.size()));
  }
  return file->Commit();
}

// A tensor the architecture needs: its canonical and llama.cpp names, its
// shape, and whether its rows are permuted for adjacent-pair RoPE.
struct TensorSlot {
  std::string canonical;
  std::string gguf;
  std::vector<int64_t> shape;
  int32_t permute_heads = 0;
};

std::vector<TensorSlot> TensorSlots(const ModelConfig& c) {
  const bool pairs_rope = c.arch == Architecture::kLlama;
  const int64_t q_rows = int64_t{c.n_heads} * c.head_dim;
  const int64_t kv_rows = int64_t{c.n_kv_heads} * c.head_dim;
  std::vector<TensorSlot> slots = {
      {"tok_embeddings.weight", "token_embd.weight", {c.vocab_size, c.dim}},
      {"norm.weight", "output_norm.weight", {c.dim}},
  };
  if (!c.tied_embeddings)
    slots.push_back({"output.weight", "output.weight", {c.vocab_size, c.dim}});
  for (int32_t layer = 0; layer < c.n_layers; ++layer) {
    auto add = [&](std::string_view canonical, std::string_view gguf, std::vector<int64_t> shape,
                   int32_t permute_heads = 0) {
      slots.push_back({fmt::format("layers.{}.{}.weight", layer, canonical),
                       fmt::format("blk.{}.{}.weight", layer, gguf), std::move(shape),
                       pairs_rope ? permute_heads : 0});
    };
    add("attention_norm", "attn_norm", {c.dim});
    add("attention.wq", "attn_q", {q_rows, c.dim}, c.n_heads);
    add("attention.wk", "attn_k", {kv_rows, c.dim}, c.n_kv_heads);
    add("attention.wv", "attn_v", {kv_rows, c.dim});
    add("attention.wo", "attn_output", {c.dim, q_rows});
    if (c.qk_norm) {
      add("attention.q_norm", "attn_q_norm", {c.head_dim});
      add("attention.k_norm", "attn_k_norm", {c.head_dim});
    }
    add("ffn_norm", "ffn_norm", {c.dim});
    add("feed_forward.w1", "ffn_gate", {c.hidden_dim, c.dim});
    add("feed_forward.w3", "ffn_up", {c.hidden_dim, c.dim});
    add("feed_forward.w2", "ffn_down", {c.dim, c.hidden_dim});
  }
  return slots;
}

Status CheckTensor(const std::string& source, const TensorRef& tensor,
                   const std::vector<int64_t>& shape) {
  if (tensor.shape != shape) {
    return MakeError(ErrorCode::kMismatch, "{}: tensor {} has shape [{}], expected [{}]", source,
                     tensor.name, fmt::join(tensor.shape, ", "), fmt::join(shape, ", "));
  }
  if (tensor.dtype != DType::kF32 && tensor.dtype != DType::kF16 && tensor.dtype != DType::kBF16) {
    return MakeError(ErrorCode::kUnsupported, "{}: tensor {} has type {}, expected a float type",
                     source, tensor.name, DTypeName(tensor.dtype));
  }
  uint64_t count = 1;
  for (int64_t dim : shape) count *= static_cast<uint64_t>(dim);
  if (tensor.bytes.size() != count * DTypeSize(tensor.dtype)) {
    return MakeError(ErrorCode::kCorrupt, "{}: tensor {} holds {} bytes, its shape needs {}",
                     source, tensor.name, tensor.bytes.size(), count * DTypeSize(tensor.dtype));
  }
  return OkStatus();
}

PendingTensor FromRef(const TensorRef& ref, std::string name, GgmlType type,
                      int32_t permute_heads) {
  PendingTensor tensor;
  tensor.name = std::move(name);
  tensor.shape = ref.shape;
  tensor.type = type;
  tensor.source = ref.bytes;
  tensor.source_dtype = ref.dtype;
  tensor.permute_heads = permute_heads;
  return tensor;
}

// What llama-quantize stores a tensor as for a file of `matrix_type` (see
// the header): vectors f32, rows that do not split into blocks f16, the
// output layer 8-bit beside 4-bit weights.
GgmlType StoredType(const TensorSlot& slot, const ModelConfig& config, GgmlType matrix_type) {
  if (slot.shape.size() == 1) return GgmlType::kF32;
  if (slot.shape.back() % GgmlBlockElements(matrix_type) != 0) return GgmlType::kF16;
  const bool output_layer =
      slot.gguf == "output.weight" || (config.tied_embeddings && slot.gguf == "token_embd.weight");
  if (output_layer && matrix_type == GgmlType::kQ4_0) return GgmlType::kQ8_0;
  return matrix_type;
}

// GPT-2's byte-level alphabet: printable bytes stand for themselves, the
// others for code points from U+0100 up.
bool StandsForItself(int byte) {
  return (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
}

std::string ByteLevelToken(int byte) {
  int code_point = byte;
  if (!StandsForItself(byte)) {
    code_point = 0x100;
    for (int lower = 0; lower < byte; ++lower) code_point += StandsForItself(lower) ? 0 : 1;
  }
  std::string utf8;
  if (code_point < 0x80) {
    utf8.push_back(static_cast<char>(code_point));
  } else {
    utf8.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    utf8.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
  return utf8;
}

void AddSyntheticVocabulary(GgufBuilder& gguf, int32_t vocab_size,
                            const TokenizerFacts& tokenizer) {
  std::vector<std::string> tokens;
  std::vector<int32_t> types(vocab_size, kTokenNormal);
  for (int32_t id = 0; id < vocab_size; ++id) {
    tokens.push_back(id < 256 ? ByteLevelToken(id) : fmt::format("<|synthetic_{}|>", id));
  }
  auto mark_control = [&](int32_t id) {
    if (id >= 0 && id < vocab_size) types[id] = kTokenControl;
  };
  mark_control(tokenizer.bos_id);
  for (int32_t id : tokenizer.eos_ids) mark_control(id);

  gguf.AddString("tokenizer.ggml.model", "gpt2");
  gguf.AddString("tokenizer.ggml.pre", "default");
  gguf.AddStringArray("tokenizer.ggml.tokens", tokens);
  gguf.AddI32Array("tokenizer.ggml.token_type", types);
  gguf.AddStringArray("tokenizer.ggml.merges", {tokens[0] + " " + tokens[1]});
  if (tokenizer.bos_id >= 0) {
    gguf.AddU32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(tokenizer.bos_id));
  }
  if (!tokenizer.eos_ids.empty()) {
    gguf.AddU32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(tokenizer.eos_ids[0]));
  }
}

// Per-frequency divisors of Llama 3 rope scaling, computed as
// convert_hf_to_gguf.py's LlamaModel.generate_extra_tensors does.
PendingTensor RopeFreqs(const ModelConfig& c) {
  const RopeScaling& s = c.rope_scaling;
  const double low_freq_wavelen = s.original_max_position / s.low_freq_factor;
  const double high_freq_wavelen = s.original_max_position / s.high_freq_factor;
  std::vector<float> factors;
  for (int32_t i = 0; i < c.head_dim; i += 2) {
    const float freq = 1.0f / std::pow(c.rope_theta, static_cast<float>(i) / c.head_dim);
    const double wavelen = 2 * std::numbers::pi / freq;
    if (wavelen < high_freq_wavelen) {
      factors.push_back(1.0f);
    } else if (wavelen > low_freq_wavelen) {
      factors.push_back(s.factor);
    } else {
      const double smooth = (s.original_max_position / wavelen - s.low_freq_factor) /
                            (s.high_freq_factor - s.low_freq_factor);
      factors.push_back(static_cast<float>(1.0 / ((1 - smooth) / s.factor + smooth)));
    }
  }
  PendingTensor tensor;
  tensor.name = "rope_freqs.weight";
  tensor.shape = {static_cast<int64_t>(factors.size())};
  const auto* bytes = reinterpret_cast<const uint8_t*>(factors.data());
  tensor.owned.assign(bytes, bytes + factors.size() * sizeof(float));
  tensor.source = tensor.owned;
  return tensor;
}

void AddHyperParameters(GgufBuilder& gguf, const ModelConfig& c) {
  const std::string arch(ArchitectureName(c.arch));
  auto key = [&arch](std::string_view name) { return fmt::format("{}.{}", arch, name); };
  gguf.AddU32(key("context_length"), c.max_context);
  gguf.AddU32(key("embedding_length"), c.dim);
  gguf.AddU32(key("block_count"), c.n_layers);
  gguf.AddU32(key("feed_forward_length"), c.hidden_dim);
  gguf.AddU32(key("attention.head_count"), c.n_heads);
  gguf.AddU32(key("attention.head_count_kv"), c.n_kv_heads);
  gguf.AddU32(key("attention.key_length"), c.head_dim);
  gguf.AddU32(key("attention.value_length"), c.head_dim);
  gguf.AddU32(key("rope.dimension_count"), c.head_dim);
  gguf.AddF32(key("rope.freq_base"), c.rope_theta);
  gguf.AddF32(key("attention.layer_norm_rms_epsilon"), c.norm_eps);
  gguf.AddU32(key("vocab_size"), c.vocab_size);
}

}  // namespace

Status WriteModelGguf(const std::string& path, const Checkpoint& ckpt, const GgufOptions& options) {
  return WriteModelGguf(path, ckpt.config(), ckpt.tokenizer_facts(), ckpt.tensors(), options);
}

Status WriteModelGguf(const std::string& path, const ModelConfig& config,
                      const TokenizerFacts& tokenizer, std::span<const TensorRef> tensors,
                      const GgufOptions& options) {
  LS_RETURN_IF_ERROR(config.Validate(path));
  if (config.vocab_size < 2) {
    return MakeError(ErrorCode::kUnsupported, "{}: a GGUF vocabulary needs 2 tokens for its merge",
                     path);
  }
  std::vector<int32_t> special_ids = tokenizer.eos_ids;
  if (tokenizer.bos_id != -1) special_ids.push_back(tokenizer.bos_id);
  for (int32_t id : special_ids) {
    if (id < 0 || id >= config.vocab_size) {
      return MakeError(ErrorCode::kMismatch, "{}: bos/eos id {} is outside the vocabulary of {}",
                       path, id, config.vocab_size);
    }
  }
  if (config.rope_scaling.enabled && config.arch != Architecture::kLlama) {
    return MakeError(
        ErrorCode::kUnsupported,
        "{}: llama.cpp applies Llama 3 rope scaling to architecture llama only, not {}", path,
        ArchitectureName(config.arch));
  }
  const std::vector<TensorSlot> slots = TensorSlots(config);
  std::map<std::string_view, const TensorRef*> by_name;
  for (const TensorRef& tensor : tensors) {
    const bool known = std::any_of(slots.begin(), slots.end(), [&](const TensorSlot& slot) {
      return slot.canonical == tensor.name;
    });
    if (!known) {
      return MakeError(ErrorCode::kUnsupported, "{}: tensor {} has no place in a {} GGUF", path,
                       tensor.name, ArchitectureName(config.arch));
    }
    if (!by_name.emplace(tensor.name, &tensor).second) {
      return MakeError(ErrorCode::kInvalidArgument, "{}: tensor {} is given twice", path,
                       tensor.name);
    }
  }

  GgufBuilder gguf;
  gguf.AddString("general.architecture", ArchitectureName(config.arch));
  gguf.AddString("general.type", "model");
  gguf.AddString("general.name", "lorashare test model");
  gguf.AddU32("general.file_type", FileType(options.matrix_type));
  AddHyperParameters(gguf, config);
  AddSyntheticVocabulary(gguf, config.vocab_size, tokenizer);
  if (config.rope_scaling.enabled) gguf.AddTensor(RopeFreqs(config));
  for (const TensorSlot& slot : slots) {
    auto found = by_name.find(slot.canonical);
    if (found == by_name.end()) {
      return MakeError(ErrorCode::kNotFound, "{}: tensor {} is missing", path, slot.canonical);
    }
    LS_RETURN_IF_ERROR(CheckTensor(path, *found->second, slot.shape));
    const GgmlType type = StoredType(slot, config, options.matrix_type);
    gguf.AddTensor(FromRef(*found->second, slot.gguf, type, slot.permute_heads));
  }
  return gguf.Write(path);
}

Status WriteLoraGguf(const std::string& path, const LoraAdapter& adapter, const Checkpoint& base) {
  return WriteLoraGguf(path, adapter.pairs(), adapter.config().scale(), base.config());
}

Status WriteLoraGguf(const std::string& path, std::span<const LoraPair> pairs, float scale,
                     const ModelConfig& base) {
  LS_RETURN_IF_ERROR(base.Validate(path));
  if (pairs.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "{}: the adapter has no LoRA pairs", path);
  }
  std::map<std::string, TensorSlot> slots;
  for (TensorSlot& slot : TensorSlots(base)) slots[slot.canonical] = std::move(slot);
  const int64_t rank = pairs[0].a.shape.empty() ? 0 : pairs[0].a.shape[0];

  GgufBuilder gguf;
  gguf.AddString("general.architecture", ArchitectureName(base.arch));
  gguf.AddString("general.type", "adapter");
  gguf.AddString("adapter.type", "lora");
  gguf.AddF32("adapter.lora.alpha", scale * static_cast<float>(rank));
  for (const LoraPair& pair : pairs) {
    auto slot = slots.find(pair.target + ".weight");
    if (slot == slots.end() || slot->second.shape.size() != 2) {
      return MakeError(ErrorCode::kMismatch, "{}: LoRA target {} is not a projection of the base",
                       path, pair.target);
    }
    const int64_t out = slot->second.shape[0];
    const int64_t in = slot->second.shape[1];
    LS_RETURN_IF_ERROR(CheckTensor(path, pair.a, {rank, in}));
    LS_RETURN_IF_ERROR(CheckTensor(path, pair.b, {out, rank}));
    gguf.AddTensor(FromRef(pair.a, slot->second.gguf + ".lora_a", GgmlType::kF32, 0));
    gguf.AddTensor(
        FromRef(pair.b, slot->second.gguf + ".lora_b", GgmlType::kF32, slot->second.permute_heads));
  }
  return gguf.Write(path);
}

}  // namespace lorashare

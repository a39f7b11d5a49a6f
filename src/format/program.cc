#include "format/program.h"

#include <flatbuffers/flatbuffers.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <span>

#include "base/byte_reader.h"
#include "base/output_file.h"
#include "format/container_header.h"
#include "format/program_generated.h"

namespace lorashare {
namespace {

// Inline segments start at multiples of this.
constexpr uint64_t kSegmentAlignment = 64;
constexpr size_t kFingerprintLength = 64;  // hex SHA-256

// Operand counts of each opcode, as documented in program.fbs.
struct Arity {
  std::string_view name;
  size_t inputs, outputs, tensors, int_args, float_args;
};
constexpr std::array<Arity, 9> kArity = {{
    {"embedding", 1, 1, 1, 0, 0},
    {"rms_norm", 1, 1, 1, 1, 1},
    {"linear", 1, 1, 1, 0, 0},
    {"lora", 2, 1, 2, 0, 1},
    {"rope", 1, 1, 0, 2, 0},
    {"attention", 3, 1, 0, 4, 0},
    {"swiglu", 2, 1, 0, 0, 0},
    {"add", 2, 1, 0, 0, 0},
    {"last_token", 1, 1, 0, 0, 0},
}};

// A parsed file: the spec and where each inline segment lies in the bytes.
struct ParsedProgram {
  ProgramSpec spec;
  std::vector<std::span<const uint8_t>> segments;
};

// The verifier checks a vector's length field, not that 8-byte elements are
// 8-byte aligned, so elements are copied out rather than dereferenced.
template <typename T>
std::vector<T> ToVector(const flatbuffers::Vector<T>* v) {
  if (!v) return {};
  std::vector<T> out(v->size());
  if (!out.empty()) std::memcpy(out.data(), v->Data(), out.size() * sizeof(T));
  return out;
}

std::string ToString(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

bool IsHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// --- Semantic checks, shared by the reader and the writer. ---

Status CheckIndices(std::span<const int32_t> indices, size_t count, std::string_view source,
                    size_t instruction, std::string_view op, std::string_view what) {
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 0 || static_cast<size_t>(indices[i]) >= count) {
      return MakeError(ErrorCode::kCorrupt,
                       "{}: instruction {} ({}): {}[{}] = {} is out of range "
                       "(0..{})",
                       source, instruction, op, what, i, indices[i], count);
    }
  }
  return OkStatus();
}

Status CheckInstruction(const ProgramSpec& spec, size_t index, std::string_view source) {
  const InstructionSpec& ins = spec.instructions[index];
  const Arity& arity = kArity[static_cast<size_t>(ins.op)];
  auto count_error = [&](std::string_view what, size_t got, size_t want) {
    return MakeError(ErrorCode::kCorrupt, "{}: instruction {} ({}) has {} {}, expected {}", source,
                     index, arity.name, got, what, want);
  };
  if (ins.inputs.size() != arity.inputs)
    return count_error("inputs", ins.inputs.size(), arity.inputs);
  if (ins.outputs.size() != arity.outputs) {
    return count_error("outputs", ins.outputs.size(), arity.outputs);
  }
  if (ins.tensors.size() != arity.tensors) {
    return count_error("tensors", ins.tensors.size(), arity.tensors);
  }
  if (ins.int_args.size() != arity.int_args) {
    return count_error("int args", ins.int_args.size(), arity.int_args);
  }
  if (ins.float_args.size() != arity.float_args) {
    return count_error("float args", ins.float_args.size(), arity.float_args);
  }
  LS_RETURN_IF_ERROR(
      CheckIndices(ins.inputs, spec.values.size(), source, index, arity.name, "inputs"));
  LS_RETURN_IF_ERROR(
      CheckIndices(ins.outputs, spec.values.size(), source, index, arity.name, "outputs"));
  LS_RETURN_IF_ERROR(
      CheckIndices(ins.tensors, spec.tensors.size(), source, index, arity.name, "tensors"));
  for (float f : ins.float_args) {
    if (!std::isfinite(f)) {
      return MakeError(ErrorCode::kCorrupt, "{}: instruction {} ({}) has a non-finite float arg",
                       source, index, arity.name);
    }
  }
  if (ins.op == OpCode::kAttention &&
      (ins.int_args[0] < 0 || ins.int_args[0] >= spec.model.n_layers)) {
    return MakeError(ErrorCode::kCorrupt,
                     "{}: instruction {} (attention): layer {} is out of range "
                     "(0..{})",
                     source, index, ins.int_args[0], spec.model.n_layers);
  }
  const size_t first_size_arg = ins.op == OpCode::kAttention ? 1 : 0;
  for (size_t i = first_size_arg; i < ins.int_args.size(); ++i) {
    if (ins.int_args[i] <= 0 || ins.int_args[i] > std::numeric_limits<int32_t>::max()) {
      return MakeError(ErrorCode::kCorrupt,
                       "{}: instruction {} ({}): int arg {} = {} must be "
                       "positive",
                       source, index, arity.name, i, ins.int_args[i]);
    }
  }
  return OkStatus();
}

// Bytes of `shape` elements of `dtype`, or nullopt on overflow or a negative
// dimension.
std::optional<uint64_t> PlainBytes(DType dtype, std::span<const int64_t> shape) {
  uint64_t bytes = DTypeSize(dtype);
  for (int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    if (dim != 0 && bytes > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(dim)) {
      return std::nullopt;
    }
    bytes *= static_cast<uint64_t>(dim);
  }
  return bytes;
}

// Bytes `tensor` must have: plain and tiled from dtype and shape (tiled rows
// padded to whole tiles); packed from the layout's geometry of its [rows,
// cols] shape.
Result<uint64_t> ExpectedBytes(const TensorSpec& t) {
  std::vector<int64_t> shape = t.shape;
  if (t.layout == WeightLayout::kTiled) {
    const bool float_type =
        t.dtype == DType::kF32 || t.dtype == DType::kBF16 || t.dtype == DType::kF16;
    if (!float_type || shape.size() != 2 || shape[0] < 0 ||
        shape[0] > std::numeric_limits<int64_t>::max() - kTileRows) {
      return MakeError(ErrorCode::kCorrupt,
                       "layout tiled needs dtype f32, bf16 or f16 and a 2-D shape");
    }
    shape[0] = (shape[0] + kTileRows - 1) / kTileRows * kTileRows;
  } else if (t.layout != WeightLayout::kPlain) {
    if (t.dtype != DType::kU8 || t.shape.size() != 2) {
      return MakeError(ErrorCode::kCorrupt, "packed layout {} needs dtype u8 and a 2-D shape",
                       WeightLayoutBaseName(t.layout));
    }
    LS_ASSIGN_OR_RETURN(const PackedGeometry g,
                        PackedGeometryFor(t.layout, t.shape[0], t.shape[1], t.group_size));
    return g.total_bytes;
  }
  auto bytes = PlainBytes(t.dtype, shape);
  if (!bytes) {
    return MakeError(ErrorCode::kCorrupt, "shape [{}] is invalid", fmt::join(t.shape, ", "));
  }
  return *bytes;
}

Status CheckTensor(const ProgramSpec& spec, size_t index, std::span<const uint64_t> segment_sizes,
                   std::string_view source) {
  const TensorSpec& t = spec.tensors[index];
  auto error = [&](std::string message) {
    return MakeError(ErrorCode::kCorrupt, "{}: tensor {} '{}': {}", source, index, t.name, message);
  };
  auto bytes = ExpectedBytes(t);
  if (!bytes.ok()) return error(bytes.error().message());
  if (*bytes != t.nbytes) {
    return error(fmt::format("nbytes {} does not match {} {} [{}] ({} bytes)", t.nbytes,
                             DTypeName(t.dtype), WeightLayoutName(t.layout, t.group_size),
                             fmt::join(t.shape, ", "), *bytes));
  }
  if ((t.segment >= 0) == (t.data_file >= 0) || t.segment < -1 || t.data_file < -1) {
    return error(fmt::format("needs exactly one of segment ({}) and data_file ({})", t.segment,
                             t.data_file));
  }
  if (t.is_inline()) {
    if (static_cast<size_t>(t.segment) >= segment_sizes.size()) {
      return error(
          fmt::format("segment {} is out of range ({} segments)", t.segment, segment_sizes.size()));
    }
    if (segment_sizes[t.segment] != t.nbytes) {
      return error(fmt::format("segment {} holds {} bytes, expected {}", t.segment,
                               segment_sizes[t.segment], t.nbytes));
    }
    return OkStatus();
  }
  if (static_cast<size_t>(t.data_file) >= spec.data_files.size()) {
    return error(fmt::format("data_file {} is out of range ({} data files)", t.data_file,
                             spec.data_files.size()));
  }
  if (t.key.empty()) return error("external tensor has no key");
  return OkStatus();
}

Status CheckProgram(const ProgramSpec& spec, std::span<const uint64_t> segment_sizes,
                    std::string_view source) {
  LS_RETURN_IF_ERROR(spec.model.Validate(source));
  for (size_t i = 0; i < spec.values.size(); ++i) {
    if (spec.values[i].width <= 0) {
      return MakeError(ErrorCode::kCorrupt, "{}: value {} '{}' has width {}", source, i,
                       spec.values[i].name, spec.values[i].width);
    }
  }
  for (auto [what, value] :
       {std::pair{"input_value", spec.input_value}, std::pair{"output_value", spec.output_value}}) {
    if (value < 0 || static_cast<size_t>(value) >= spec.values.size()) {
      return MakeError(ErrorCode::kCorrupt, "{}: {} {} is out of range ({} values)", source, what,
                       value, spec.values.size());
    }
  }
  for (size_t i = 0; i < spec.data_files.size(); ++i) {
    const std::string& fingerprint = spec.data_files[i].fingerprint;
    if (fingerprint.size() != kFingerprintLength || !IsHex(fingerprint)) {
      return MakeError(ErrorCode::kCorrupt,
                       "{}: data file {} '{}': fingerprint '{}' is not a hex SHA-256", source, i,
                       spec.data_files[i].name, fingerprint);
    }
  }
  for (size_t i = 0; i < spec.tensors.size(); ++i) {
    LS_RETURN_IF_ERROR(CheckTensor(spec, i, segment_sizes, source));
  }
  for (size_t i = 0; i < spec.instructions.size(); ++i) {
    LS_RETURN_IF_ERROR(CheckInstruction(spec, i, source));
  }
  if (spec.adapter && (spec.adapter->rank <= 0 || !std::isfinite(spec.adapter->scale) ||
                       !std::isfinite(spec.adapter->alpha))) {
    return MakeError(ErrorCode::kCorrupt, "{}: adapter '{}' has rank {} and scale {}", source,
                     spec.adapter->name, spec.adapter->rank, spec.adapter->scale);
  }
  return OkStatus();
}

// --- Flatbuffer -> ProgramSpec (structure and enum ranges). ---

Result<ModelConfig> ReadModel(const fb::ModelParams* params, std::string_view source) {
  if (!params) return MakeError(ErrorCode::kCorrupt, "{}: program has no model parameters", source);
  if (static_cast<uint8_t>(params->architecture()) > static_cast<uint8_t>(fb::Architecture::MAX)) {
    return MakeError(ErrorCode::kCorrupt, "{}: unknown architecture {}", source,
                     static_cast<int>(params->architecture()));
  }
  ModelConfig model;
  model.arch = static_cast<Architecture>(params->architecture());
  model.dim = params->dim();
  model.n_layers = params->n_layers();
  model.n_heads = params->n_heads();
  model.n_kv_heads = params->n_kv_heads();
  model.head_dim = params->head_dim();
  model.hidden_dim = params->hidden_dim();
  model.vocab_size = params->vocab_size();
  model.max_context = params->max_context();
  model.norm_eps = params->norm_eps();
  model.rope_theta = params->rope_theta();
  if (const fb::RopeScaling* scaling = params->rope_scaling()) {
    model.rope_scaling = {true, scaling->factor(), scaling->low_freq_factor(),
                          scaling->high_freq_factor(), scaling->original_max_position()};
  }
  model.tied_embeddings = params->tied_embeddings();
  model.qk_norm = params->qk_norm();
  return model;
}

Result<TensorSpec> ReadTensor(const fb::Tensor& t, size_t index, std::string_view source) {
  TensorSpec out;
  out.name = ToString(t.name());
  if (static_cast<uint8_t>(t.dtype()) > static_cast<uint8_t>(DType::kBool)) {
    return MakeError(ErrorCode::kCorrupt, "{}: tensor {} '{}': unknown dtype {}", source, index,
                     out.name, static_cast<int>(t.dtype()));
  }
  if (static_cast<uint8_t>(t.layout()) > static_cast<uint8_t>(fb::WeightLayout::MAX)) {
    return MakeError(ErrorCode::kUnsupported, "{}: tensor {} '{}': unknown weight layout {}",
                     source, index, out.name, static_cast<int>(t.layout()));
  }
  out.dtype = static_cast<DType>(t.dtype());
  out.layout = static_cast<WeightLayout>(t.layout());
  out.group_size = t.group_size();
  out.shape = ToVector(t.shape());
  out.nbytes = t.nbytes();
  out.segment = t.segment();
  out.data_file = t.data_file();
  out.key = ToString(t.key());
  return out;
}

Result<InstructionSpec> ReadInstruction(const fb::Instruction& ins, size_t index,
                                        std::string_view source) {
  if (static_cast<uint8_t>(ins.op()) > static_cast<uint8_t>(fb::OpCode::MAX)) {
    return MakeError(ErrorCode::kCorrupt, "{}: instruction {}: unknown opcode {}", source, index,
                     static_cast<int>(ins.op()));
  }
  InstructionSpec out;
  out.op = static_cast<OpCode>(ins.op());
  out.inputs = ToVector(ins.inputs());
  out.outputs = ToVector(ins.outputs());
  out.tensors = ToVector(ins.tensors());
  out.int_args = ToVector(ins.int_args());
  out.float_args = ToVector(ins.float_args());
  return out;
}

Result<DataFileSpec> ReadDataFile(const fb::DataFile& file, size_t index, std::string_view source) {
  if (static_cast<uint8_t>(file.role()) > static_cast<uint8_t>(fb::DataRole::MAX)) {
    return MakeError(ErrorCode::kCorrupt, "{}: data file {}: unknown role {}", source, index,
                     static_cast<int>(file.role()));
  }
  return DataFileSpec{ToString(file.name()), static_cast<DataRole>(file.role()),
                      ToString(file.fingerprint())};
}

AdapterSpec ReadAdapter(const fb::Adapter& adapter) {
  AdapterSpec out{ToString(adapter.name()), adapter.rank(),       adapter.alpha(),
                  adapter.scale(),          adapter.use_rslora(), {}};
  if (adapter.targets()) {
    for (const flatbuffers::String* target : *adapter.targets())
      out.targets.push_back(ToString(target));
  }
  return out;
}

// Reads every element of an optional flatbuffer vector of tables with `read`.
template <typename T, typename Read>
Status ReadAll(const flatbuffers::Vector<flatbuffers::Offset<T>>* items, std::string_view source,
               Read read, auto* out) {
  if (!items) return OkStatus();
  for (size_t i = 0; i < items->size(); ++i) {
    LS_ASSIGN_OR_RETURN(auto item, read(*items->Get(i), i, source));
    out->push_back(std::move(item));
  }
  return OkStatus();
}

Result<ParsedProgram> ParseProgram(std::span<const uint8_t> bytes, std::string_view source) {
  LS_ASSIGN_OR_RETURN(ContainerHeader header, ParseContainerHeader(bytes, kPteContainer, source));
  flatbuffers::Verifier verifier(bytes.data(), header.flatbuffer_end());
  if (!fb::VerifyProgramBuffer(verifier)) {
    return MakeError(ErrorCode::kCorrupt, "{}: program flatbuffer fails verification", source);
  }
  const fb::Program& root = *fb::GetProgram(bytes.data());
  if (root.version() != kProgramVersion) {
    return MakeError(ErrorCode::kUnsupported,
                     "{}: program version {}, this build reads version {} (export it again)",
                     source, root.version(), kProgramVersion);
  }
  ParsedProgram parsed;
  ProgramSpec& spec = parsed.spec;
  spec.producer = ToString(root.producer());
  LS_ASSIGN_OR_RETURN(spec.model, ReadModel(root.model(), source));
  if (const fb::TokenizerInfo* tokenizer = root.tokenizer()) {
    spec.tokenizer = {tokenizer->bos_id(), ToVector(tokenizer->eos_ids())};
  }
  if (root.values()) {
    for (const fb::Value* value : *root.values()) {
      spec.values.push_back({ToString(value->name()), value->width()});
    }
  }
  spec.input_value = root.input_value();
  spec.output_value = root.output_value();
  LS_RETURN_IF_ERROR(ReadAll(root.instructions(), source, ReadInstruction, &spec.instructions));
  LS_RETURN_IF_ERROR(ReadAll(root.tensors(), source, ReadTensor, &spec.tensors));
  LS_RETURN_IF_ERROR(ReadAll(root.data_files(), source, ReadDataFile, &spec.data_files));
  if (root.adapter()) spec.adapter = ReadAdapter(*root.adapter());

  std::vector<uint64_t> segment_sizes;
  if (root.segments()) {
    for (size_t i = 0; i < root.segments()->size(); ++i) {
      // Copied out: struct elements may be misaligned in a corrupt file.
      fb::Segment segment;
      std::memcpy(&segment, root.segments()->Data() + i * sizeof(fb::Segment), sizeof(segment));
      if (!RangeInside(segment.offset(), segment.size(), header.segment_data_size)) {
        return MakeError(ErrorCode::kCorrupt,
                         "{}: segment {} (offset {}, size {}) is outside the segment data ({} "
                         "bytes)",
                         source, i, segment.offset(), segment.size(), header.segment_data_size);
      }
      parsed.segments.push_back(
          bytes.subspan(header.segment_base_offset + segment.offset(), segment.size()));
      segment_sizes.push_back(segment.size());
    }
  }
  LS_RETURN_IF_ERROR(CheckProgram(spec, segment_sizes, source));
  return parsed;
}

// --- ProgramSpec -> flatbuffer. ---

flatbuffers::Offset<fb::ModelParams> BuildModel(flatbuffers::FlatBufferBuilder& b,
                                                const ModelConfig& m) {
  flatbuffers::Offset<fb::RopeScaling> scaling;
  if (m.rope_scaling.enabled) {
    scaling = fb::CreateRopeScaling(b, m.rope_scaling.factor, m.rope_scaling.low_freq_factor,
                                    m.rope_scaling.high_freq_factor,
                                    m.rope_scaling.original_max_position);
  }
  return fb::CreateModelParams(b, static_cast<fb::Architecture>(m.arch), m.dim, m.n_layers,
                               m.n_heads, m.n_kv_heads, m.head_dim, m.hidden_dim, m.vocab_size,
                               m.max_context, m.norm_eps, m.rope_theta, scaling, m.tied_embeddings,
                               m.qk_norm);
}

template <typename T, typename Build>
auto BuildAll(flatbuffers::FlatBufferBuilder& b, const std::vector<T>& items, Build build) {
  std::vector<decltype(build(items.front()))> out;
  for (const T& item : items) out.push_back(build(item));
  return b.CreateVector(out);
}

std::vector<uint8_t> BuildFlatbuffer(const ProgramSpec& spec,
                                     const std::vector<fb::Segment>& segments) {
  flatbuffers::FlatBufferBuilder b;
  auto values = BuildAll(b, spec.values, [&](const ValueSpec& v) {
    return fb::CreateValue(b, b.CreateString(v.name), v.width);
  });
  auto instructions = BuildAll(b, spec.instructions, [&](const InstructionSpec& ins) {
    return fb::CreateInstruction(b, static_cast<fb::OpCode>(ins.op), b.CreateVector(ins.inputs),
                                 b.CreateVector(ins.outputs), b.CreateVector(ins.tensors),
                                 b.CreateVector(ins.int_args), b.CreateVector(ins.float_args));
  });
  auto tensors = BuildAll(b, spec.tensors, [&](const TensorSpec& t) {
    return fb::CreateTensor(b, b.CreateString(t.name), static_cast<fb::DType>(t.dtype),
                            static_cast<fb::WeightLayout>(t.layout), t.group_size,
                            b.CreateVector(t.shape), t.nbytes, t.segment, t.data_file,
                            b.CreateString(t.key));
  });
  auto data_files = BuildAll(b, spec.data_files, [&](const DataFileSpec& f) {
    return fb::CreateDataFile(b, b.CreateString(f.name), static_cast<fb::DataRole>(f.role),
                              b.CreateString(f.fingerprint));
  });
  flatbuffers::Offset<fb::Adapter> adapter;
  if (spec.adapter) {
    const AdapterSpec& a = *spec.adapter;
    adapter = fb::CreateAdapter(b, b.CreateString(a.name), a.rank, a.alpha, a.scale, a.use_rslora,
                                b.CreateVectorOfStrings(a.targets));
  }
  auto root = fb::CreateProgram(
      b, kProgramVersion, b.CreateString(spec.producer), BuildModel(b, spec.model),
      fb::CreateTokenizerInfo(b, spec.tokenizer.bos_id, b.CreateVector(spec.tokenizer.eos_ids)),
      values, spec.input_value, spec.output_value, instructions, tensors, data_files,
      b.CreateVectorOfStructs(segments), adapter);
  fb::FinishProgramBuffer(b, root);
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

}  // namespace

std::vector<int64_t> StoredSizes(const TensorSpec& t) {
  switch (t.layout) {
    case WeightLayout::kPlain:
      return t.shape;
    case WeightLayout::kTiled:
      return {TiledElements(t.shape[0], 1), t.shape[1]};
    default:
      return {static_cast<int64_t>(t.nbytes)};
  }
}

std::string_view OpCodeName(OpCode op) {
  size_t index = static_cast<size_t>(op);
  return index < kArity.size() ? kArity[index].name : "unknown";
}

uint64_t DecodeWeightBytes(const ProgramSpec& spec, const InstructionSpec& instruction) {
  uint64_t bytes = 0;
  for (int32_t index : instruction.tensors) {
    const TensorSpec& tensor = spec.tensors[static_cast<size_t>(index)];
    const bool one_row = instruction.op == OpCode::kEmbedding && !tensor.shape.empty();
    bytes += one_row ? tensor.nbytes / static_cast<uint64_t>(tensor.shape[0]) : tensor.nbytes;
  }
  return bytes;
}

Status WriteProgram(const std::string& path, const ProgramSpec& spec,
                    const std::vector<std::span<const uint8_t>>& inline_data) {
  std::vector<uint64_t> sizes;
  std::vector<fb::Segment> segments;
  uint64_t end = 0;
  for (const auto& data : inline_data) {
    uint64_t offset = AlignUp(end, kSegmentAlignment);
    segments.emplace_back(offset, data.size());
    sizes.push_back(data.size());
    end = offset + data.size();
  }
  Status valid = CheckProgram(spec, sizes, path);
  if (!valid.ok()) {
    return Error(ErrorCode::kInvalidArgument, "refusing to write " + valid.error().message());
  }
  std::vector<uint8_t> flatbuffer = BuildFlatbuffer(spec, segments);
  std::vector<uint8_t> head = BuildContainerHead(flatbuffer, kPteContainer, kSegmentAlignment, end);

  LS_ASSIGN_OR_RETURN(auto file, OutputFile::Create(path));
  LS_RETURN_IF_ERROR(file->Write(head));
  for (size_t i = 0; i < inline_data.size(); ++i) {
    LS_RETURN_IF_ERROR(file->WriteZeros(head.size() + segments[i].offset() - file->position()));
    LS_RETURN_IF_ERROR(file->Write(inline_data[i]));
  }
  return file->Commit();
}

Result<ProgramSpec> ProgramFile::Parse(std::span<const uint8_t> bytes, std::string_view source) {
  LS_ASSIGN_OR_RETURN(auto parsed, ParseProgram(bytes, source));
  return std::move(parsed.spec);
}

Result<std::shared_ptr<const ProgramFile>> ProgramFile::Open(const std::string& path) {
  LS_ASSIGN_OR_RETURN(auto mapping, MappedFile::Open(path));
  LS_ASSIGN_OR_RETURN(auto parsed, ParseProgram(mapping->bytes(), path));
  auto file = std::shared_ptr<ProgramFile>(new ProgramFile());
  file->mapping_ = std::move(mapping);
  file->spec_ = std::move(parsed.spec);
  file->segments_ = std::move(parsed.segments);
  return std::shared_ptr<const ProgramFile>(std::move(file));
}

std::span<const uint8_t> ProgramFile::InlineBytes(const TensorSpec& tensor) const {
  if (!tensor.is_inline() || static_cast<size_t>(tensor.segment) >= segments_.size()) return {};
  return segments_[tensor.segment];
}

}  // namespace lorashare

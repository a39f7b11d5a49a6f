#include "export/exporter.h"

#include <fmt/ranges.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>

#include "base/progress.h"
#include "base/sha256.h"
#include "export/dtype_convert.h"
#include "export/program_builder.h"
#include "export/scratch_file.h"
#include "format/program.h"
#include "format/ptd.h"
#include "import/checkpoint.h"
#include "import/lora_adapter.h"
#include "kernels/convert.h"
#include "kernels/quantize.h"

namespace lorashare {
namespace {

constexpr char kProducer[] = "lorashare 0.1.0";

// A tensor as it will be stored: where its bytes are, its format and its
// content digest. Foundation tensors that had to be converted or packed live
// in the scratch file (`scratch_offset`) until it is mapped; adapter tensors
// are small and are `owned`.
struct StoredTensor {
  std::string name;
  WeightFormat format;
  std::vector<int64_t> shape;  // the logical shape ([rows, cols] when packed)
  std::span<const uint8_t> bytes;
  std::vector<uint8_t> owned;
  std::optional<uint64_t> scratch_offset;
  uint64_t size = 0;
  Sha256Digest digest{};

  std::string ContentKey() const { return format.Name() + "-" + ToHex(digest); }
};

// The values of `ref` as f32: its own bytes when they already are aligned
// f32, otherwise converted into `storage`.
Result<const float*> F32Values(const TensorRef& ref, std::vector<float>* storage) {
  if (!IsFloatDType(ref.dtype)) {
    return MakeError(ErrorCode::kUnsupported, "{}: {} weights cannot be quantized", ref.name,
                     DTypeName(ref.dtype));
  }
  if (ref.dtype == DType::kF32 &&
      reinterpret_cast<uintptr_t>(ref.bytes.data()) % alignof(float) == 0) {
    return reinterpret_cast<const float*>(ref.bytes.data());
  }
  const auto count = static_cast<size_t>(ref.element_count());
  storage->resize(count);
  ConvertToF32(ref.dtype, ref.bytes.data(), count, storage->data());
  return storage->data();
}

// A tensor's bytes as stored, or nullopt when it is stored as it is.
using Encoded = std::optional<std::vector<uint8_t>>;

// `ref` stored as `format`.
Result<Encoded> Encode(const TensorRef& ref, const WeightFormat& format) {
  if (!format.packed()) {
    if (ref.dtype == format.dtype) return Encoded();
    auto converted = ConvertFloatTensor(ref.bytes, ref.dtype, format.dtype);
    if (!converted.ok()) return converted.error().WithContext(ref.name);
    return Encoded(std::move(converted).value());
  }
  auto cannot_pack = [&](std::string_view why) {
    return MakeError(ErrorCode::kUnsupported, "{}: cannot store shape [{}] as {}: {}", ref.name,
                     fmt::join(ref.shape, ", "), format.Name(), why);
  };
  if (ref.shape.size() != 2) return cannot_pack("packed layouts hold 2-D matrices only");
  std::vector<float> storage;
  LS_ASSIGN_OR_RETURN(const float* values, F32Values(ref, &storage));
  auto packed = PackMatrix(values, ref.shape[0], ref.shape[1], format.layout, format.group_size);
  if (!packed.ok()) return cannot_pack(packed.error().message());
  // The .ptd describes a packed blob as u8 [nbytes], and FlatTensor sizes are int32.
  if (packed->size() > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
    return cannot_pack(fmt::format("{} packed bytes exceed a FlatTensor size", packed->size()));
  }
  return Encoded(std::move(packed).value());
}

// The format of a foundation tensor: norms (1-D) stay f32, the embedding
// follows the embedding setting, every other matrix is a linear weight.
WeightFormat FoundationFormat(const TensorRef& ref, const QuantizationScheme& scheme) {
  if (ref.shape.size() < 2) return PlainFormat(DType::kF32);
  if (ref.name == "tok_embeddings.weight") return scheme.embedding;
  return scheme.linear;
}

TensorSpec SpecOf(const StoredTensor& tensor) {
  TensorSpec spec;
  spec.name = tensor.name;
  spec.dtype = tensor.format.dtype;
  spec.layout = tensor.format.layout;
  spec.group_size = static_cast<int32_t>(tensor.format.group_size);
  spec.shape = tensor.shape;
  spec.nbytes = tensor.size;
  return spec;
}

TensorLayout LayoutOf(const StoredTensor& tensor) {
  TensorLayout layout{tensor.format.dtype, {}, {}};
  for (int64_t size : StoredSizes(SpecOf(tensor))) {
    layout.dim_order.push_back(static_cast<uint8_t>(layout.sizes.size()));
    layout.sizes.push_back(static_cast<int32_t>(size));
  }
  return layout;
}

std::string BaseName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

std::string DirectoryOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

Result<uint64_t> FileSize(const std::string& path) {
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return MakeError(ErrorCode::kIo, "{}: {}", path, ec.message());
  return size;
}

// Drops the resident pages of a source tensor once it has been converted or
// packed, so a large checkpoint does not stay resident while the rest is
// processed. MADV_PAGEOUT never loses data (file pages are re-read on access,
// anonymous ones swapped or kept), so it is safe whatever memory the tensor
// lives in; a kernel without it refuses it harmlessly.
void ReleaseSourcePages(std::span<const uint8_t> bytes) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto start = reinterpret_cast<uintptr_t>(bytes.data());
  const uintptr_t begin = (start + page - 1) / page * page;
  const uintptr_t end = (start + bytes.size()) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_PAGEOUT);
}

// Converts or packs every foundation tensor, one at a time, parking the
// results in `scratch`; tensors stored as they are stay views of the
// checkpoint. A tied model whose output layer cannot read the embedding
// tensor gets "output.weight" right after the embedding.
Result<std::vector<StoredTensor>> PrepareFoundation(const Checkpoint& checkpoint,
                                                    const QuantizationScheme& scheme,
                                                    ScratchFile* scratch, bool show_progress) {
  uint64_t total = 0;
  for (const auto& t : checkpoint.tensors()) total += t.bytes.size();
  ProgressBar progress("preparing weights", total, show_progress);
  std::vector<StoredTensor> stored;
  auto add = [&](const TensorRef& ref, std::string name, const WeightFormat& format) -> Status {
    StoredTensor out{std::move(name), format, ref.shape, {}, {}, std::nullopt, 0, {}};
    LS_ASSIGN_OR_RETURN(auto encoded, Encode(ref, format));
    std::span<const uint8_t> bytes = encoded ? std::span<const uint8_t>(*encoded) : ref.bytes;
    out.size = bytes.size();
    out.digest = Sha256Of(bytes);
    if (encoded) {
      LS_ASSIGN_OR_RETURN(out.scratch_offset, scratch->Append(bytes));
    } else {
      out.bytes = bytes;
    }
    stored.push_back(std::move(out));
    return OkStatus();
  };
  const bool separate_output =
      checkpoint.config().tied_embeddings && !scheme.OutputSharesEmbedding();
  for (const auto& t : checkpoint.tensors()) {
    LS_RETURN_IF_ERROR(add(t, t.name, FoundationFormat(t, scheme)));
    // A tensor stored as it is gets read again by the writer; others are done.
    const bool copied = stored.back().scratch_offset.has_value();
    if (separate_output && t.name == "tok_embeddings.weight") {
      LS_RETURN_IF_ERROR(add(t, "output.weight", scheme.TiedOutputFormat()));
    }
    if (copied) ReleaseSourcePages(t.bytes);
    progress.Advance(t.bytes.size());
  }
  progress.Finish();
  LS_RETURN_IF_ERROR(scratch->Map());
  for (auto& t : stored) {
    if (t.scratch_offset) t.bytes = scratch->View(*t.scratch_offset, t.size);
  }
  return stored;
}

StoredTensor OwnedTensor(std::string name, WeightFormat format, std::vector<int64_t> shape,
                         std::vector<uint8_t> bytes) {
  StoredTensor out{
      std::move(name), format, std::move(shape), {}, std::move(bytes), std::nullopt, 0, {}};
  out.bytes = out.owned;
  out.size = out.owned.size();
  out.digest = Sha256Of(out.bytes);
  return out;
}

// B with the adapter's scale multiplied in, so LORA instructions need no
// scale of their own: (x A^T)(s B)^T = s (x A^T) B^T.
Result<std::vector<uint8_t>> ScaledB(const TensorRef& b, float scale, DType dtype) {
  std::vector<float> values;
  LS_ASSIGN_OR_RETURN(const float* source, F32Values(b, &values));
  std::vector<float> scaled(source, source + b.element_count());
  for (float& v : scaled) v *= scale;
  auto bytes = ConvertFloatTensor(
      {reinterpret_cast<const uint8_t*>(scaled.data()), scaled.size() * sizeof(float)}, DType::kF32,
      dtype);
  if (!bytes.ok()) return bytes.error().WithContext(b.name);
  return bytes;
}

// The adapter's A (plain) and scaled B (tiled: its rows are the rank long)
// matrices in `dtype`, in pair order (A, B).
Result<std::vector<StoredTensor>> PrepareAdapter(const LoraAdapter& adapter, DType dtype) {
  std::vector<StoredTensor> stored;
  const float scale = adapter.config().scale();
  for (const auto& pair : adapter.pairs()) {
    LS_ASSIGN_OR_RETURN(auto a, Encode(pair.a, PlainFormat(dtype)));
    std::vector<uint8_t> a_bytes =
        a ? std::move(*a) : std::vector<uint8_t>(pair.a.bytes.begin(), pair.a.bytes.end());
    LS_ASSIGN_OR_RETURN(auto b_bytes, ScaledB(pair.b, scale, dtype));
    stored.push_back(
        OwnedTensor(pair.target + ".lora_a", PlainFormat(dtype), pair.a.shape, std::move(a_bytes)));
    stored.push_back(
        OwnedTensor(pair.target + ".lora_b", TiledFormat(dtype), pair.b.shape,
                    TileRows(b_bytes, pair.b.shape[0], pair.b.shape[1], DTypeSize(dtype))));
  }
  return stored;
}

std::vector<int32_t> MergeEosIds(std::vector<int32_t> ids, const std::vector<int32_t>& extra) {
  for (int32_t id : extra) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  return ids;
}

AdapterSpec DescribeAdapter(const LoraAdapter& adapter) {
  const LoraConfig& c = adapter.config();
  return {BaseName(adapter.path()), c.rank, c.alpha, c.scale(), c.use_rslora, c.target_modules};
}

}  // namespace

Result<ExportReport> ExportProgram(const ExportOptions& options) {
  LS_ASSIGN_OR_RETURN(auto checkpoint, Checkpoint::Open(options.checkpoint_dir));
  std::unique_ptr<LoraAdapter> adapter;
  if (!options.adapter_path.empty()) {
    LS_ASSIGN_OR_RETURN(adapter, LoraAdapter::Open(options.adapter_path));
    LS_RETURN_IF_ERROR(adapter->CheckAgainst(checkpoint->config(), options.checkpoint_dir));
  }

  ProgramSpec spec;
  spec.producer = kProducer;
  spec.model = checkpoint->config();
  spec.tokenizer = checkpoint->tokenizer_facts();
  if (options.tokenizer_facts && !checkpoint->tokenizer_path().empty()) {
    LS_ASSIGN_OR_RETURN(TokenizerFacts facts,
                        options.tokenizer_facts(checkpoint->tokenizer_path()));
    spec.tokenizer.eos_ids = MergeEosIds(spec.tokenizer.eos_ids, facts.eos_ids);
    if (spec.tokenizer.bos_id < 0) spec.tokenizer.bos_id = facts.bos_id;
  }

  // Foundation: one shared data file, content-keyed.
  LS_ASSIGN_OR_RETURN(auto scratch, ScratchFile::Create(DirectoryOf(options.foundation_weights)));
  LS_ASSIGN_OR_RETURN(auto foundation, PrepareFoundation(*checkpoint, options.scheme, scratch.get(),
                                                         options.show_progress));
  PtdWriter foundation_writer(PtdWriterOptions{});
  std::map<std::string, int32_t> tensor_index;
  uint64_t foundation_total = 0;
  ExportReport report;
  for (const auto& t : foundation) {
    foundation_total += t.size;
    report.foundation_bytes_by_format[t.format.Name()] += t.size;
    LS_RETURN_IF_ERROR(foundation_writer.Add(t.ContentKey(), t.bytes, LayoutOf(t), t.digest));
    TensorSpec tensor = SpecOf(t);
    tensor.data_file = 0;
    tensor.key = t.ContentKey();
    tensor_index[t.name] = static_cast<int32_t>(spec.tensors.size());
    spec.tensors.push_back(std::move(tensor));
  }
  ProgressBar write_progress("writing " + BaseName(options.foundation_weights), foundation_total,
                             options.show_progress);
  LS_ASSIGN_OR_RETURN(std::string fingerprint,
                      foundation_writer.Write(options.foundation_weights, &write_progress));
  write_progress.Finish();
  spec.data_files.push_back(
      {BaseName(options.foundation_weights), DataRole::kFoundation, fingerprint});

  report.foundation_fingerprint = fingerprint;
  report.weights = options.scheme.Describe(spec.model.tied_embeddings);
  report.foundation_tensors = foundation_writer.size();

  // Adapter: A/B pairs inline in the program, or in their own data file.
  std::vector<std::span<const uint8_t>> inline_segments;
  ProgramBuildInput build{spec.model, nullptr, {}, 1.0f};
  build.separate_output = spec.model.tied_embeddings && !options.scheme.OutputSharesEmbedding();
  std::vector<StoredTensor> adapter_tensors;
  if (adapter) {
    LS_ASSIGN_OR_RETURN(adapter_tensors, PrepareAdapter(*adapter, options.scheme.lora_dtype));
    const bool external = !options.adapter_weights.empty();
    PtdWriter adapter_writer(PtdWriterOptions{});
    for (const auto& t : adapter_tensors) {
      TensorSpec tensor = SpecOf(t);
      if (external) {
        LS_RETURN_IF_ERROR(adapter_writer.Add(t.ContentKey(), t.bytes, LayoutOf(t), t.digest));
        tensor.data_file = 1;
        tensor.key = t.ContentKey();
      } else {
        tensor.segment = static_cast<int32_t>(inline_segments.size());
        inline_segments.push_back(t.bytes);
      }
      tensor_index[t.name] = static_cast<int32_t>(spec.tensors.size());
      spec.tensors.push_back(std::move(tensor));
      report.adapter_tensor_bytes += t.size;
    }
    if (external) {
      LS_ASSIGN_OR_RETURN(std::string adapter_fingerprint,
                          adapter_writer.Write(options.adapter_weights));
      spec.data_files.push_back(
          {BaseName(options.adapter_weights), DataRole::kAdapter, adapter_fingerprint});
      LS_ASSIGN_OR_RETURN(report.adapter_file_bytes, FileSize(options.adapter_weights));
    }
    for (const auto& pair : adapter->pairs()) {
      build.lora[pair.target] = {tensor_index.at(pair.target + ".lora_a"),
                                 tensor_index.at(pair.target + ".lora_b")};
    }
    spec.adapter = DescribeAdapter(*adapter);
  }

  build.tensor_index = [&](const std::string& name) -> Result<int32_t> {
    auto it = tensor_index.find(name);
    if (it == tensor_index.end()) {
      return MakeError(ErrorCode::kNotFound, "{}: checkpoint has no tensor {}",
                       options.checkpoint_dir, name);
    }
    return it->second;
  };
  LS_RETURN_IF_ERROR(BuildInstructions(build, &spec));
  LS_RETURN_IF_ERROR(WriteProgram(options.output, spec, inline_segments));

  LS_ASSIGN_OR_RETURN(report.program_bytes, FileSize(options.output));
  LS_ASSIGN_OR_RETURN(report.foundation_bytes, FileSize(options.foundation_weights));
  return report;
}

}  // namespace lorashare

#include "export/exporter.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "base/progress.h"
#include "base/sha256.h"
#include "export/dtype_convert.h"
#include "export/program_builder.h"
#include "format/program.h"
#include "format/ptd.h"
#include "import/checkpoint.h"
#include "import/lora_adapter.h"

namespace lorashare {
namespace {

constexpr char kProducer[] = "lorashare 0.1.0";

// A tensor as it will be stored: converted bytes (owned when converted) and
// its content digest.
struct StoredTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::span<const uint8_t> bytes;
  std::vector<uint8_t> owned;
  Sha256Digest digest{};

  std::string ContentKey() const { return std::string(DTypeName(dtype)) + "-" + ToHex(digest); }
};

Result<StoredTensor> Store(const TensorRef& ref, std::string name, DType dtype) {
  StoredTensor out{std::move(name), dtype, ref.shape, ref.bytes, {}, {}};
  if (ref.dtype != dtype) {
    auto converted = ConvertFloatTensor(ref.bytes, ref.dtype, dtype);
    if (!converted.ok()) return converted.error().WithContext(ref.name);
    out.owned = std::move(converted).value();
    out.bytes = out.owned;
  }
  out.digest = Sha256Of(out.bytes);
  return out;
}

TensorLayout LayoutOf(const StoredTensor& tensor) {
  TensorLayout layout{tensor.dtype, {}, {}};
  for (size_t i = 0; i < tensor.shape.size(); ++i) {
    layout.sizes.push_back(static_cast<int32_t>(tensor.shape[i]));
    layout.dim_order.push_back(static_cast<uint8_t>(i));
  }
  return layout;
}

TensorSpec SpecOf(const StoredTensor& tensor) {
  TensorSpec spec;
  spec.name = tensor.name;
  spec.dtype = tensor.dtype;
  spec.shape = tensor.shape;
  spec.nbytes = tensor.bytes.size();
  return spec;
}

std::string BaseName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

Result<uint64_t> FileSize(const std::string& path) {
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return MakeError(ErrorCode::kIo, "{}: {}", path, ec.message());
  return size;
}

// Converts and hashes every foundation tensor. Weight matrices take the
// requested dtype; 1-D tensors (norm weights) stay f32 for accuracy.
Result<std::vector<StoredTensor>> PrepareFoundation(const Checkpoint& checkpoint, DType dtype,
                                                    bool show_progress) {
  uint64_t total = 0;
  for (const auto& t : checkpoint.tensors()) total += t.bytes.size();
  ProgressBar progress("preparing weights", total, show_progress);
  std::vector<StoredTensor> stored;
  stored.reserve(checkpoint.tensors().size());
  for (const auto& t : checkpoint.tensors()) {
    DType target = t.shape.size() >= 2 ? dtype : DType::kF32;
    LS_ASSIGN_OR_RETURN(auto tensor, Store(t, t.name, target));
    stored.push_back(std::move(tensor));
    progress.Advance(t.bytes.size());
  }
  return stored;
}

// Converts the adapter's A and B matrices to f32, in pair order (A, B).
Result<std::vector<StoredTensor>> PrepareAdapter(const LoraAdapter& adapter) {
  std::vector<StoredTensor> stored;
  for (const auto& pair : adapter.pairs()) {
    LS_ASSIGN_OR_RETURN(auto a, Store(pair.a, pair.target + ".lora_a", DType::kF32));
    LS_ASSIGN_OR_RETURN(auto b, Store(pair.b, pair.target + ".lora_b", DType::kF32));
    stored.push_back(std::move(a));
    stored.push_back(std::move(b));
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
  LS_ASSIGN_OR_RETURN(auto foundation,
                      PrepareFoundation(*checkpoint, options.dtype, options.show_progress));
  PtdWriter foundation_writer(PtdWriterOptions{});
  std::map<std::string, int32_t> tensor_index;
  uint64_t foundation_total = 0;
  for (const auto& t : foundation) {
    foundation_total += t.bytes.size();
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

  ExportReport report;
  report.foundation_fingerprint = fingerprint;
  report.foundation_tensors = foundation_writer.size();

  // Adapter: A/B pairs inline in the program, or in their own data file.
  std::vector<std::span<const uint8_t>> inline_segments;
  ProgramBuildInput build{spec.model, nullptr, {}, 0.0f};
  std::vector<StoredTensor> adapter_tensors;
  if (adapter) {
    LS_ASSIGN_OR_RETURN(adapter_tensors, PrepareAdapter(*adapter));
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
      report.adapter_tensor_bytes += t.bytes.size();
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
    build.lora_scale = adapter->config().scale();
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

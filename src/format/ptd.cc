#include "format/ptd.h"

#include <flatbuffers/flatbuffers.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <limits>

#include "base/byte_reader.h"
#include "base/output_file.h"
#include "base/progress.h"
#include "format/container_header.h"
#include "format/flat_tensor_generated.h"

namespace lorashare {
namespace ftb = flat_tensor_flatbuffer;
namespace {

constexpr uint32_t kFlatTensorVersion = 0;
constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kMinSegmentAlignment = 64;
// Segments are written in pieces of this size so the progress bar moves.
constexpr uint64_t kWriteChunk = 64ull << 20;

struct ParsedPtd {
  ContainerHeader header;
  uint32_t version = 0;
  size_t segment_count = 0;
  std::vector<PtdEntry> entries;
};

// Bytes of a tensor with `layout`, or nullopt on overflow.
std::optional<uint64_t> LayoutBytes(const TensorLayout& layout) {
  uint64_t bytes = DTypeSize(layout.dtype);
  for (int32_t size : layout.sizes) {
    if (size < 0) return std::nullopt;
    if (size != 0 && bytes > std::numeric_limits<uint64_t>::max() / size) return std::nullopt;
    bytes *= static_cast<uint64_t>(size);
  }
  return bytes;
}

// Checks a layout against the size of its blob; errors carry `code`.
Status CheckLayout(const TensorLayout& layout, uint64_t blob_size, std::string_view source,
                   std::string_view key, ErrorCode code) {
  for (size_t i = 0; i < layout.sizes.size(); ++i) {
    if (layout.sizes[i] < 0) {
      return MakeError(code, "{}: key '{}': sizes[{}] is negative ({})", source, key, i,
                       layout.sizes[i]);
    }
  }
  if (!layout.dim_order.empty()) {
    std::vector<bool> seen(layout.sizes.size(), false);
    bool permutation = layout.dim_order.size() == layout.sizes.size();
    for (uint8_t dim : layout.dim_order) {
      permutation = permutation && dim < seen.size() && !seen[dim];
      if (permutation) seen[dim] = true;
    }
    if (!permutation) {
      return MakeError(code, "{}: key '{}': dim_order is not a permutation of the {} dimensions",
                       source, key, layout.sizes.size());
    }
  }
  auto bytes = LayoutBytes(layout);
  if (!bytes || *bytes != blob_size) {
    return MakeError(code, "{}: key '{}': layout {} {} needs {} bytes but the blob has {}", source,
                     key, DTypeName(layout.dtype), fmt::join(layout.sizes, "x"),
                     bytes ? fmt::to_string(*bytes) : std::string("too many"), blob_size);
  }
  return OkStatus();
}

Result<TensorLayout> ReadLayout(const ftb::TensorLayout& layout, std::string_view source,
                                std::string_view key) {
  auto scalar_type = static_cast<int8_t>(layout.scalar_type());
  auto dtype = FromExecuTorchScalarType(scalar_type);
  if (!dtype) {
    return MakeError(ErrorCode::kUnsupported, "{}: key '{}': scalar type {} is not supported",
                     source, key, scalar_type);
  }
  TensorLayout out;
  out.dtype = *dtype;
  if (layout.sizes()) out.sizes.assign(layout.sizes()->begin(), layout.sizes()->end());
  if (layout.dim_order()) {
    out.dim_order.assign(layout.dim_order()->begin(), layout.dim_order()->end());
  }
  return out;
}

Result<std::vector<std::pair<uint64_t, uint64_t>>> ReadSegments(const ftb::FlatTensor& root,
                                                                const ContainerHeader& header,
                                                                std::string_view source) {
  std::vector<std::pair<uint64_t, uint64_t>> segments;  // absolute offset, size
  segments.reserve(root.segments()->size());
  for (size_t i = 0; i < root.segments()->size(); ++i) {
    const ftb::DataSegment* segment = root.segments()->Get(i);
    if (!RangeInside(segment->offset(), segment->size(), header.segment_data_size)) {
      return MakeError(ErrorCode::kCorrupt,
                       "{}: segment {} (offset {}, size {}) is outside the segment data ({} "
                       "bytes)",
                       source, i, segment->offset(), segment->size(), header.segment_data_size);
    }
    segments.emplace_back(header.segment_base_offset + segment->offset(), segment->size());
  }
  return segments;
}

Result<ParsedPtd> ParsePtd(std::span<const uint8_t> bytes, std::string_view source) {
  ParsedPtd parsed;
  LS_ASSIGN_OR_RETURN(parsed.header, ParseContainerHeader(bytes, kPtdContainer, source));
  flatbuffers::Verifier verifier(bytes.data(), parsed.header.flatbuffer_end());
  if (!ftb::VerifyFlatTensorBuffer(verifier)) {
    return MakeError(ErrorCode::kCorrupt, "{}: FlatTensor flatbuffer fails verification", source);
  }
  const ftb::FlatTensor& root = *ftb::GetFlatTensor(bytes.data());
  parsed.version = root.version();
  if (parsed.version != kFlatTensorVersion) {
    return MakeError(ErrorCode::kUnsupported, "{}: FlatTensor version {} (only {} is supported)",
                     source, parsed.version, kFlatTensorVersion);
  }
  if (!root.segments() || !root.named_data()) {
    return MakeError(ErrorCode::kCorrupt, "{}: FlatTensor has no {} list", source,
                     root.segments() ? "named_data" : "segments");
  }
  LS_ASSIGN_OR_RETURN(auto segments, ReadSegments(root, parsed.header, source));
  parsed.segment_count = segments.size();

  std::unordered_map<std::string_view, size_t> seen;
  for (size_t i = 0; i < root.named_data()->size(); ++i) {
    const ftb::NamedData* named = root.named_data()->Get(i);
    if (!named->key()) {
      return MakeError(ErrorCode::kCorrupt, "{}: named_data[{}] has no key", source, i);
    }
    std::string_view key = named->key()->string_view();
    if (!seen.emplace(key, i).second) {
      return MakeError(ErrorCode::kCorrupt, "{}: key '{}' appears twice (named_data[{}] and [{}])",
                       source, key, seen[key], i);
    }
    PtdEntry entry;
    entry.key = std::string(key);
    entry.segment_index = named->segment_index();
    if (entry.segment_index >= segments.size()) {
      return MakeError(ErrorCode::kCorrupt,
                       "{}: key '{}': segment_index {} is out of range ({} segments)", source, key,
                       entry.segment_index, segments.size());
    }
    std::tie(entry.offset, entry.size) = segments[entry.segment_index];
    if (named->tensor_layout()) {
      LS_ASSIGN_OR_RETURN(entry.layout, ReadLayout(*named->tensor_layout(), source, key));
      LS_RETURN_IF_ERROR(CheckLayout(*entry.layout, entry.size, source, key, ErrorCode::kCorrupt));
    }
    parsed.entries.push_back(std::move(entry));
  }
  return parsed;
}

}  // namespace

Status PtdFile::Validate(std::span<const uint8_t> bytes, std::string_view source) {
  LS_ASSIGN_OR_RETURN(auto parsed, ParsePtd(bytes, source));
  return OkStatus();
}

Result<std::shared_ptr<const PtdFile>> PtdFile::Open(const std::string& path) {
  LS_ASSIGN_OR_RETURN(auto mapping, MappedFile::Open(path));
  return FromMapping(std::move(mapping));
}

Result<std::shared_ptr<const PtdFile>> PtdFile::FromMapping(
    std::shared_ptr<const MappedFile> mapping) {
  LS_ASSIGN_OR_RETURN(auto parsed, ParsePtd(mapping->bytes(), mapping->path()));
  auto file = std::shared_ptr<PtdFile>(new PtdFile());
  file->mapping_ = std::move(mapping);
  file->version_ = parsed.version;
  file->segment_base_offset_ = parsed.header.segment_base_offset;
  file->segment_count_ = parsed.segment_count;
  file->fingerprint_ = ToHex(Sha256Of(file->mapping_->bytes().first(parsed.header.head_size())));
  file->entries_ = std::move(parsed.entries);
  for (size_t i = 0; i < file->entries_.size(); ++i) {
    file->index_.emplace(file->entries_[i].key, i);
  }
  return std::shared_ptr<const PtdFile>(std::move(file));
}

const PtdEntry* PtdFile::Find(std::string_view key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

Status PtdWriter::Add(std::string key, std::span<const uint8_t> bytes,
                      std::optional<TensorLayout> layout, std::optional<Sha256Digest> digest) {
  if (layout) {
    LS_RETURN_IF_ERROR(
        CheckLayout(*layout, bytes.size(), "ptd writer", key, ErrorCode::kInvalidArgument));
  }
  std::string hex = ToHex(digest ? *digest : Sha256Of(bytes));
  auto existing = key_index_.find(key);
  if (existing != key_index_.end()) {
    const Entry& entry = entries_[existing->second];
    auto same = digest_index_.find(hex);
    if (same != digest_index_.end() && same->second == entry.segment && entry.layout == layout) {
      return OkStatus();
    }
    return MakeError(ErrorCode::kInvalidArgument,
                     "ptd writer: key '{}' added twice with different bytes or layout", key);
  }
  auto [it, inserted] = digest_index_.emplace(hex, segments_.size());
  if (inserted) {
    Sha256Digest stored = digest ? *digest : Sha256Of(bytes);
    segments_.push_back({bytes, stored});
  }
  key_index_.emplace(key, entries_.size());
  entries_.push_back({std::move(key), it->second, std::move(layout)});
  return OkStatus();
}

uint64_t PtdWriter::data_bytes() const {
  uint64_t total = 0;
  for (const Segment& segment : segments_) total += segment.bytes.size();
  return total;
}

Result<std::string> PtdWriter::Write(const std::string& path, ProgressBar* progress) const {
  const uint64_t alignment = std::max(options_.segment_alignment, kMinSegmentAlignment);
  if ((alignment & (alignment - 1)) != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "{}: segment alignment {} is not a power of two",
                     path, alignment);
  }
  // Segment offsets relative to the base; the base itself is page-aligned, so
  // page-aligned offsets are page-aligned in the file.
  std::vector<uint64_t> offsets;
  uint64_t end = 0;
  for (const Segment& segment : segments_) {
    bool page =
        options_.page_align_min_bytes != 0 && segment.bytes.size() >= options_.page_align_min_bytes;
    offsets.push_back(AlignUp(end, page ? std::max(alignment, kPageSize) : alignment));
    end = offsets.back() + segment.bytes.size();
  }

  flatbuffers::FlatBufferBuilder builder;
  std::vector<flatbuffers::Offset<ftb::DataSegment>> fb_segments;
  for (size_t i = 0; i < segments_.size(); ++i) {
    fb_segments.push_back(ftb::CreateDataSegment(builder, offsets[i], segments_[i].bytes.size()));
  }
  std::vector<flatbuffers::Offset<ftb::NamedData>> fb_named;
  for (const Entry& entry : entries_) {
    flatbuffers::Offset<ftb::TensorLayout> layout;
    if (entry.layout) {
      layout = ftb::CreateTensorLayout(
          builder, static_cast<ftb::ScalarType>(ToExecuTorchScalarType(entry.layout->dtype)),
          builder.CreateVector(entry.layout->sizes), builder.CreateVector(entry.layout->dim_order));
    }
    fb_named.push_back(ftb::CreateNamedData(builder, builder.CreateString(entry.key),
                                            static_cast<uint32_t>(entry.segment), layout));
  }
  auto root = ftb::CreateFlatTensor(builder, kFlatTensorVersion, builder.CreateVector(fb_segments),
                                    builder.CreateVector(fb_named));
  ftb::FinishFlatTensorBuffer(builder, root);
  std::vector<uint8_t> head = BuildContainerHead({builder.GetBufferPointer(), builder.GetSize()},
                                                 kPtdContainer, kPageSize, end);

  LS_ASSIGN_OR_RETURN(auto file, OutputFile::Create(path));
  LS_RETURN_IF_ERROR(file->Write(head));
  for (size_t i = 0; i < segments_.size(); ++i) {
    LS_RETURN_IF_ERROR(file->WriteZeros(head.size() + offsets[i] - file->position()));
    std::span<const uint8_t> bytes = segments_[i].bytes;
    for (uint64_t done = 0; done < bytes.size(); done += kWriteChunk) {
      auto chunk = bytes.subspan(done, std::min<uint64_t>(kWriteChunk, bytes.size() - done));
      LS_RETURN_IF_ERROR(file->Write(chunk));
      if (progress) progress->Advance(chunk.size());
    }
  }
  LS_RETURN_IF_ERROR(file->Commit());
  return ToHex(Sha256Of(head));
}

}  // namespace lorashare

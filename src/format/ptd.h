// .ptd data files: ExecuTorch's FlatTensor container (named blobs of bytes).
//
// PtdFile reads one: the file is mapped read-only and shared, every offset,
// size and index is checked against the file at open, and keys are found
// through a hash index built then. Blob bytes are views into the mapping.
// PtdWriter writes one, byte-compatible with ExecuTorch's readers; layout and
// the head fingerprint are described in docs/file-formats.md.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/mapped_file.h"
#include "base/result.h"
#include "base/sha256.h"
#include "format/dtype.h"

namespace lorashare {

class ProgressBar;

// FlatTensor TensorLayout: element type, sizes and dim order of a blob.
struct TensorLayout {
  DType dtype = DType::kF32;
  std::vector<int32_t> sizes;
  std::vector<uint8_t> dim_order;  // empty or a permutation of [0, sizes.size())
  bool operator==(const TensorLayout&) const = default;
};

struct PtdEntry {
  std::string key;
  uint32_t segment_index = 0;
  std::optional<TensorLayout> layout;
  uint64_t offset = 0;  // absolute offset of the bytes in the file
  uint64_t size = 0;
};

class PtdFile {
 public:
  static Result<std::shared_ptr<const PtdFile>> Open(const std::string& path);
  // Parses an already mapped file (the mapping is kept alive by the PtdFile).
  static Result<std::shared_ptr<const PtdFile>> FromMapping(
      std::shared_ptr<const MappedFile> mapping);
  // Validates `bytes` as a .ptd without keeping them (used by fuzzing and
  // tests); `source` names them in errors.
  static Status Validate(std::span<const uint8_t> bytes, std::string_view source);

  const std::string& path() const { return mapping_->path(); }
  const MappedFile& mapping() const { return *mapping_; }
  std::shared_ptr<const MappedFile> shared_mapping() const { return mapping_; }

  uint32_t version() const { return version_; }
  uint64_t segment_base_offset() const { return segment_base_offset_; }
  size_t segment_count() const { return segment_count_; }
  // SHA-256 (hex) of bytes [0, segment_base_offset): header and flatbuffer.
  const std::string& fingerprint() const { return fingerprint_; }

  const std::vector<PtdEntry>& entries() const { return entries_; }
  const PtdEntry* Find(std::string_view key) const;
  std::span<const uint8_t> Bytes(const PtdEntry& entry) const {
    return mapping_->bytes().subspan(entry.offset, entry.size);
  }

 private:
  PtdFile() = default;

  std::shared_ptr<const MappedFile> mapping_;
  uint32_t version_ = 0;
  uint64_t segment_base_offset_ = 0;
  size_t segment_count_ = 0;
  std::string fingerprint_;
  std::vector<PtdEntry> entries_;
  std::unordered_map<std::string_view, size_t> index_;  // key -> entries_ index
};

struct PtdWriterOptions {
  // Every segment starts at a multiple of this (>= 64, a power of two).
  uint64_t segment_alignment = 64;
  // Blobs of at least this many bytes start on a page boundary (4096), so
  // they can be mapped straight into kernels. 0 disables page alignment.
  uint64_t page_align_min_bytes = 1 << 16;
};

class PtdWriter {
 public:
  explicit PtdWriter(PtdWriterOptions options = {}) : options_(options) {}

  // Adds `bytes` under `key`. The bytes must stay valid until Write(). Blobs
  // with identical bytes share one segment. `digest` is the SHA-256 of
  // `bytes` if the caller already has it (it is computed otherwise).
  // Adding an existing key again is accepted only with identical bytes.
  Status Add(std::string key, std::span<const uint8_t> bytes, std::optional<TensorLayout> layout,
             std::optional<Sha256Digest> digest = std::nullopt);

  size_t size() const { return entries_.size(); }
  // Bytes of segment data Write() will stream (each distinct blob once); the
  // total for a ProgressBar passed to Write().
  uint64_t data_bytes() const;

  // Writes the file (temp file + rename). Same inputs give the same bytes.
  // Returns the fingerprint of the written file (see PtdFile::fingerprint).
  // `progress` is advanced by the segment bytes written.
  Result<std::string> Write(const std::string& path, ProgressBar* progress = nullptr) const;

 private:
  struct Entry {
    std::string key;
    size_t segment;
    std::optional<TensorLayout> layout;
  };
  struct Segment {
    std::span<const uint8_t> bytes;
    Sha256Digest digest;
  };

  PtdWriterOptions options_;
  std::vector<Entry> entries_;
  std::vector<Segment> segments_;
  std::unordered_map<std::string, size_t> key_index_;
  std::unordered_map<std::string, size_t> digest_index_;  // hex digest -> segment
};

}  // namespace lorashare

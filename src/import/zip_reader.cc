#include "import/zip_reader.h"

#include <algorithm>
#include <array>

#include "base/byte_reader.h"

namespace lorashare {
namespace {

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr uint32_t kZip64End = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr size_t kEndRecordSize = 22;
constexpr size_t kCentralHeaderSize = 46;
constexpr uint16_t kZip64ExtraId = 0x0001;

struct Directory {
  uint64_t entries = 0;
  uint64_t size = 0;
  uint64_t offset = 0;
};

uint32_t LoadU32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

Result<size_t> FindEndRecord(std::span<const uint8_t> bytes, const std::string& source) {
  if (bytes.size() >= kEndRecordSize) {
    // The record is followed only by a comment of at most 65535 bytes.
    const size_t last = bytes.size() - kEndRecordSize;
    const size_t first = last > 65535 ? last - 65535 : 0;
    for (size_t at = last + 1; at-- > first;) {
      if (LoadU32(bytes.data() + at) == kEndOfCentralDirectory) return at;
    }
  }
  return MakeError(ErrorCode::kCorrupt, "{}: not a zip archive (no end of central directory)",
                   source);
}

Result<Directory> ReadZip64Directory(ByteReader& reader, size_t end_record) {
  if (end_record < 20) {
    return MakeError(ErrorCode::kCorrupt, "{}: ZIP64 fields without a ZIP64 locator",
                     reader.source());
  }
  LS_RETURN_IF_ERROR(reader.Seek(end_record - 20, "ZIP64 locator"));
  LS_ASSIGN_OR_RETURN(uint32_t signature, reader.Read<uint32_t>("ZIP64 locator"));
  if (signature != kZip64Locator) {
    return MakeError(ErrorCode::kCorrupt, "{}: ZIP64 fields without a ZIP64 locator",
                     reader.source());
  }
  LS_ASSIGN_OR_RETURN(uint32_t disk, reader.Read<uint32_t>("ZIP64 locator disk"));
  LS_ASSIGN_OR_RETURN(uint64_t offset, reader.Read<uint64_t>("ZIP64 end record offset"));
  if (disk != 0 || offset > SIZE_MAX) {
    return MakeError(ErrorCode::kUnsupported, "{}: multi-disk zip archives are not supported",
                     reader.source());
  }
  LS_RETURN_IF_ERROR(reader.Seek(offset, "ZIP64 end record"));
  LS_ASSIGN_OR_RETURN(signature, reader.Read<uint32_t>("ZIP64 end record"));
  if (signature != kZip64End) {
    return MakeError(ErrorCode::kCorrupt, "{}: bad ZIP64 end record signature at {}",
                     reader.source(), offset);
  }
  // Record size, versions, disk numbers, entries on this disk.
  LS_RETURN_IF_ERROR(reader.ReadBytes(8 + 2 + 2 + 4 + 4 + 8, "ZIP64 end record"));
  Directory directory;
  LS_ASSIGN_OR_RETURN(directory.entries, reader.Read<uint64_t>("ZIP64 entry count"));
  LS_ASSIGN_OR_RETURN(directory.size, reader.Read<uint64_t>("ZIP64 directory size"));
  LS_ASSIGN_OR_RETURN(directory.offset, reader.Read<uint64_t>("ZIP64 directory offset"));
  return directory;
}

Result<Directory> ReadDirectory(ByteReader& reader, size_t end_record) {
  LS_RETURN_IF_ERROR(reader.Seek(end_record + 4, "end of central directory"));
  LS_ASSIGN_OR_RETURN(uint16_t disk, reader.Read<uint16_t>("disk number"));
  LS_ASSIGN_OR_RETURN(uint16_t directory_disk, reader.Read<uint16_t>("directory disk"));
  LS_ASSIGN_OR_RETURN(uint16_t disk_entries, reader.Read<uint16_t>("entries on disk"));
  LS_ASSIGN_OR_RETURN(uint16_t entries, reader.Read<uint16_t>("entry count"));
  LS_ASSIGN_OR_RETURN(uint32_t size, reader.Read<uint32_t>("directory size"));
  LS_ASSIGN_OR_RETURN(uint32_t offset, reader.Read<uint32_t>("directory offset"));
  if (entries == 0xFFFF || size == 0xFFFFFFFF || offset == 0xFFFFFFFF) {
    return ReadZip64Directory(reader, end_record);
  }
  if (disk != 0 || directory_disk != 0 || disk_entries != entries) {
    return MakeError(ErrorCode::kUnsupported, "{}: multi-disk zip archives are not supported",
                     reader.source());
  }
  return Directory{entries, size, offset};
}

// Replaces saturated 32-bit fields by their ZIP64 extra-field values.
Status ApplyZip64Extra(std::span<const uint8_t> extra, ZipEntry& entry, uint64_t& local_offset,
                       const std::string& source) {
  ByteReader reader(extra, source);
  while (reader.remaining() >= 4) {
    LS_ASSIGN_OR_RETURN(uint16_t id, reader.Read<uint16_t>("extra field id"));
    LS_ASSIGN_OR_RETURN(uint16_t length, reader.Read<uint16_t>("extra field size"));
    LS_ASSIGN_OR_RETURN(auto field, reader.ReadBytes(length, "extra field"));
    if (id != kZip64ExtraId) continue;
    ByteReader values(field, source);
    for (uint64_t* value : {&entry.size, &entry.compressed_size, &local_offset}) {
      if (*value != 0xFFFFFFFF) continue;
      LS_ASSIGN_OR_RETURN(*value, values.Read<uint64_t>("ZIP64 extra field of " + entry.name));
    }
  }
  return OkStatus();
}

Result<ZipEntry> ReadCentralEntry(ByteReader& reader, std::span<const uint8_t> bytes) {
  const std::string& source = reader.source();
  LS_ASSIGN_OR_RETURN(auto header, reader.ReadBytes(kCentralHeaderSize, "central directory entry"));
  ByteReader h(header, source);
  LS_ASSIGN_OR_RETURN(uint32_t signature, h.Read<uint32_t>("signature"));
  if (signature != kCentralHeader) {
    return MakeError(ErrorCode::kCorrupt, "{}: bad central directory entry at {}", source,
                     reader.position() - kCentralHeaderSize);
  }
  ZipEntry entry;
  LS_RETURN_IF_ERROR(h.Seek(8, "flags"));
  LS_ASSIGN_OR_RETURN(uint16_t flags, h.Read<uint16_t>("flags"));
  LS_ASSIGN_OR_RETURN(entry.method, h.Read<uint16_t>("method"));
  LS_RETURN_IF_ERROR(h.Seek(16, "crc"));
  LS_ASSIGN_OR_RETURN(entry.crc32, h.Read<uint32_t>("crc"));
  LS_ASSIGN_OR_RETURN(uint32_t compressed, h.Read<uint32_t>("compressed size"));
  LS_ASSIGN_OR_RETURN(uint32_t size, h.Read<uint32_t>("size"));
  LS_ASSIGN_OR_RETURN(uint16_t name_length, h.Read<uint16_t>("name length"));
  LS_ASSIGN_OR_RETURN(uint16_t extra_length, h.Read<uint16_t>("extra length"));
  LS_ASSIGN_OR_RETURN(uint16_t comment_length, h.Read<uint16_t>("comment length"));
  LS_RETURN_IF_ERROR(h.Seek(42, "local header offset"));
  LS_ASSIGN_OR_RETURN(uint32_t local32, h.Read<uint32_t>("local header offset"));
  LS_ASSIGN_OR_RETURN(std::string_view name, reader.ReadString(name_length, "entry name"));
  LS_ASSIGN_OR_RETURN(auto extra, reader.ReadBytes(extra_length, "entry extra field"));
  LS_RETURN_IF_ERROR(reader.ReadBytes(comment_length, "entry comment"));
  entry.name = std::string(name);
  entry.compressed_size = compressed;
  entry.size = size;
  uint64_t local_offset = local32;
  LS_RETURN_IF_ERROR(ApplyZip64Extra(extra, entry, local_offset, source));
  if (flags & 1) {
    return MakeError(ErrorCode::kUnsupported, "{}: entry {} is encrypted", source, entry.name);
  }

  ByteReader local(bytes, source);
  LS_RETURN_IF_ERROR(local.Seek(local_offset, "local header of " + entry.name));
  LS_ASSIGN_OR_RETURN(auto local_header, local.ReadBytes(30, "local header of " + entry.name));
  if (LoadU32(local_header.data()) != kLocalHeader) {
    return MakeError(ErrorCode::kCorrupt, "{}: bad local header for entry {} at {}", source,
                     entry.name, local_offset);
  }
  const uint64_t local_name = local_header[26] | local_header[27] << 8;
  const uint64_t local_extra = local_header[28] | local_header[29] << 8;
  entry.data_offset = local_offset + 30 + local_name + local_extra;
  if (!RangeInside(entry.data_offset, entry.compressed_size, bytes.size())) {
    return MakeError(ErrorCode::kCorrupt, "{}: entry {} ({} bytes at {}) runs past the end ({})",
                     source, entry.name, entry.compressed_size, entry.data_offset, bytes.size());
  }
  return entry;
}

}  // namespace

uint32_t Crc32(std::span<const uint8_t> bytes, uint32_t crc) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (uint8_t byte : bytes) crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

Result<ZipReader> ZipReader::Parse(std::span<const uint8_t> bytes, std::string source) {
  ZipReader zip;
  zip.bytes_ = bytes;
  zip.source_ = std::move(source);
  ByteReader reader(bytes, zip.source_);
  LS_ASSIGN_OR_RETURN(size_t end_record, FindEndRecord(bytes, zip.source_));
  LS_ASSIGN_OR_RETURN(Directory directory, ReadDirectory(reader, end_record));
  if (!RangeInside(directory.offset, directory.size, bytes.size()) ||
      directory.entries > directory.size / kCentralHeaderSize) {
    return MakeError(ErrorCode::kCorrupt,
                     "{}: central directory ({} entries, {} bytes at {}) does not fit the file",
                     zip.source_, directory.entries, directory.size, directory.offset);
  }
  ByteReader entries(bytes.subspan(directory.offset, directory.size), zip.source_);
  for (uint64_t i = 0; i < directory.entries; ++i) {
    LS_ASSIGN_OR_RETURN(ZipEntry entry, ReadCentralEntry(entries, bytes));
    if (!zip.index_.emplace(entry.name, zip.entries_.size()).second) {
      return MakeError(ErrorCode::kCorrupt, "{}: entry {} appears twice", zip.source_, entry.name);
    }
    zip.entries_.push_back(std::move(entry));
  }
  return zip;
}

const ZipEntry* ZipReader::Find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

Result<std::span<const uint8_t>> ZipReader::Data(const ZipEntry& entry) const {
  if (entry.method != 0) {
    return MakeError(ErrorCode::kUnsupported,
                     "{}: entry {} is compressed (method {}); tensors must be stored "
                     "uncompressed, as torch.save writes them",
                     source_, entry.name, entry.method);
  }
  if (entry.size != entry.compressed_size) {
    return MakeError(ErrorCode::kCorrupt, "{}: stored entry {} has size {} but {} stored bytes",
                     source_, entry.name, entry.size, entry.compressed_size);
  }
  return bytes_.subspan(entry.data_offset, entry.size);
}

Result<std::span<const uint8_t>> ZipReader::CheckedData(const ZipEntry& entry) const {
  LS_ASSIGN_OR_RETURN(auto data, Data(entry));
  if (Crc32(data) != entry.crc32) {
    return MakeError(ErrorCode::kCorrupt, "{}: entry {} fails its CRC-32 check", source_,
                     entry.name);
  }
  return data;
}

}  // namespace lorashare

// PtdWriter behaviour (dedup, alignment, determinism, failure cleanup) and
// PtdFile on bad input: every malformed file is a kCorrupt (or, for a newer
// version or element type, kUnsupported) error naming the file, never a crash.
#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include <limits>

#include "base/sha256.h"
#include "format/container_header.h"
#include "format/flat_tensor_generated.h"
#include "format/format_test_util.h"
#include "format/ptd.h"

namespace lorashare {
namespace {

namespace ftb = flat_tensor_flatbuffer;
using testing::LoadLe;
using testing::ReadBytes;
using testing::StoreLe;
using testing::TempDir;
using testing::WriteBytes;

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed * 7 + i * 13 + (i >> 9));
  return v;
}

// A small valid file written by PtdWriter.
std::vector<uint8_t> SmallPtd(const TempDir& dir) {
  std::vector<uint8_t> a = Pattern(24, 1), b = Pattern(100, 2);
  PtdWriter writer;
  EXPECT_TRUE(writer.Add("a", a, TensorLayout{DType::kF32, {2, 3}, {0, 1}}).ok());
  EXPECT_TRUE(writer.Add("b", b, std::nullopt).ok());
  EXPECT_TRUE(writer.Write(dir / "small.ptd").ok());
  return ReadBytes(dir / "small.ptd");
}

struct CraftedNamed {
  CraftedNamed(std::string key, uint32_t segment_index)
      : key(std::move(key)), segment_index(segment_index) {}
  CraftedNamed(std::string key, uint32_t segment_index, int8_t scalar_type,
               std::vector<int32_t> sizes, std::vector<uint8_t> dim_order)
      : key(std::move(key)),
        segment_index(segment_index),
        with_layout(true),
        scalar_type(scalar_type),
        sizes(std::move(sizes)),
        dim_order(std::move(dim_order)) {}

  std::string key;
  uint32_t segment_index;
  bool with_layout = false;
  int8_t scalar_type = 0;
  std::vector<int32_t> sizes;
  std::vector<uint8_t> dim_order;
};

// Builds a .ptd with arbitrary (possibly invalid) metadata around `data`.
std::vector<uint8_t> Craft(const std::vector<std::pair<uint64_t, uint64_t>>& segments,
                           const std::vector<CraftedNamed>& named, uint64_t data_size,
                           uint32_t version = 0) {
  flatbuffers::FlatBufferBuilder builder;
  std::vector<flatbuffers::Offset<ftb::DataSegment>> fb_segments;
  for (auto [offset, size] : segments) {
    fb_segments.push_back(ftb::CreateDataSegment(builder, offset, size));
  }
  std::vector<flatbuffers::Offset<ftb::NamedData>> fb_named;
  for (const CraftedNamed& n : named) {
    flatbuffers::Offset<ftb::TensorLayout> layout;
    if (n.with_layout) {
      layout =
          ftb::CreateTensorLayout(builder, static_cast<ftb::ScalarType>(n.scalar_type),
                                  builder.CreateVector(n.sizes), builder.CreateVector(n.dim_order));
    }
    fb_named.push_back(
        ftb::CreateNamedData(builder, builder.CreateString(n.key), n.segment_index, layout));
  }
  ftb::FinishFlatTensorBuffer(
      builder, ftb::CreateFlatTensor(builder, version, builder.CreateVector(fb_segments),
                                     builder.CreateVector(fb_named)));
  std::vector<uint8_t> file = BuildContainerHead({builder.GetBufferPointer(), builder.GetSize()},
                                                 kPtdContainer, 64, data_size);
  std::vector<uint8_t> data = Pattern(data_size, 9);
  file.insert(file.end(), data.begin(), data.end());
  return file;
}

void ExpectError(const std::vector<uint8_t>& bytes, ErrorCode code, const std::string& fragment) {
  Status status = PtdFile::Validate(bytes, "bad.ptd");
  ASSERT_FALSE(status.ok()) << "expected an error containing '" << fragment << "'";
  EXPECT_EQ(status.error().code(), code) << status.error().message();
  EXPECT_NE(status.error().message().find("bad.ptd"), std::string::npos)
      << status.error().message();
  EXPECT_NE(status.error().message().find(fragment), std::string::npos) << status.error().message();
}

TEST(PtdWriter, RoundTripsThroughReader) {
  TempDir dir;
  std::vector<uint8_t> a = Pattern(24, 1), big = Pattern(70000, 2), c = Pattern(5, 3);
  PtdWriter writer;
  ASSERT_TRUE(writer.Add("a", a, TensorLayout{DType::kF32, {2, 3}, {1, 0}}).ok());
  ASSERT_TRUE(writer.Add("big", big, std::nullopt).ok());
  ASSERT_TRUE(writer.Add("c", c, TensorLayout{DType::kU8, {5}, {}}).ok());
  EXPECT_EQ(writer.size(), 3u);
  EXPECT_EQ(writer.data_bytes(), a.size() + big.size() + c.size());
  auto fingerprint = writer.Write(dir / "x.ptd");
  ASSERT_TRUE(fingerprint.ok()) << fingerprint.error().message();

  auto file = PtdFile::Open(dir / "x.ptd");
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ((*file)->fingerprint(), *fingerprint);
  EXPECT_EQ((*file)->path(), dir / "x.ptd");
  ASSERT_EQ((*file)->entries().size(), 3u);
  const PtdEntry* entry = (*file)->Find("big");
  ASSERT_NE(entry, nullptr);
  EXPECT_FALSE(entry->layout.has_value());
  auto bytes = (*file)->Bytes(*entry);
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), big.begin(), big.end()));
  EXPECT_EQ(entry->offset % 4096, 0u);  // >= page_align_min_bytes (64 KiB)
  entry = (*file)->Find("a");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->layout, (TensorLayout{DType::kF32, {2, 3}, {1, 0}}));
  EXPECT_EQ(entry->offset % 64, 0u);
}

TEST(PtdWriter, StoresIdenticalBytesOnce) {
  TempDir dir;
  std::vector<uint8_t> blob = Pattern(5000, 4), other = Pattern(5000, 5);
  PtdWriter writer;
  ASSERT_TRUE(writer.Add("x", blob, std::nullopt).ok());
  ASSERT_TRUE(writer.Add("y", std::vector<uint8_t>(blob), std::nullopt, Sha256Of(blob)).ok());
  ASSERT_TRUE(writer.Add("z", other, std::nullopt).ok());
  EXPECT_EQ(writer.data_bytes(), 10000u);
  ASSERT_TRUE(writer.Write(dir / "d.ptd").ok());
  auto file = PtdFile::Open(dir / "d.ptd");
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ((*file)->segment_count(), 2u);
  EXPECT_EQ((*file)->Find("x")->offset, (*file)->Find("y")->offset);
  EXPECT_NE((*file)->Find("x")->offset, (*file)->Find("z")->offset);
}

TEST(PtdWriter, RespectsAlignmentOptions) {
  TempDir dir;
  PtdWriter writer(PtdWriterOptions{.segment_alignment = 256, .page_align_min_bytes = 0});
  std::vector<std::vector<uint8_t>> blobs;
  for (uint8_t i = 0; i < 5; ++i) blobs.push_back(Pattern(100 + 3000 * i, i));
  for (size_t i = 0; i < blobs.size(); ++i) {
    ASSERT_TRUE(writer.Add(fmt::format("k{}", i), blobs[i], std::nullopt).ok());
  }
  ASSERT_TRUE(writer.Write(dir / "a.ptd").ok());
  auto file = PtdFile::Open(dir / "a.ptd");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ((*file)->segment_base_offset() % 4096, 0u);
  bool any_unpaged = false;
  for (const PtdEntry& entry : (*file)->entries()) {
    EXPECT_EQ(entry.offset % 256, 0u) << entry.key;
    any_unpaged = any_unpaged || entry.offset % 4096 != 0;
  }
  EXPECT_TRUE(any_unpaged);  // page alignment was switched off

  PtdWriter odd(PtdWriterOptions{.segment_alignment = 96});
  ASSERT_TRUE(odd.Add("k", blobs[0], std::nullopt).ok());
  auto result = odd.Write(dir / "odd.ptd");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument);
}

TEST(PtdWriter, IsDeterministic) {
  TempDir dir;
  auto write = [&](const std::string& name) {
    PtdWriter writer;
    std::vector<uint8_t> a = Pattern(300, 1), b = Pattern(70000, 2);
    EXPECT_TRUE(writer.Add("a", a, TensorLayout{DType::kBF16, {150}, {}}).ok());
    EXPECT_TRUE(writer.Add("b", b, std::nullopt).ok());
    EXPECT_TRUE(writer.Write(dir / name).ok());
    return ReadBytes(dir / name);
  };
  std::vector<uint8_t> first = write("1.ptd"), second = write("2.ptd");
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(first, second);
}

TEST(PtdWriter, RejectsConflictingKeysAndBadLayouts) {
  std::vector<uint8_t> a = Pattern(24, 1), b = Pattern(24, 2);
  PtdWriter writer;
  ASSERT_TRUE(writer.Add("a", a, std::nullopt).ok());
  EXPECT_TRUE(writer.Add("a", a, std::nullopt).ok());  // same bytes again: accepted
  EXPECT_FALSE(writer.Add("a", b, std::nullopt).ok());
  EXPECT_FALSE(writer.Add("a", a, TensorLayout{DType::kF32, {6}, {}}).ok());
  EXPECT_EQ(writer.size(), 1u);

  auto bad = [&](TensorLayout layout) {
    Status status = writer.Add("n", a, layout);
    return !status.ok() && status.error().code() == ErrorCode::kInvalidArgument;
  };
  EXPECT_TRUE(bad(TensorLayout{DType::kF32, {7}, {}}));         // 28 bytes != 24
  EXPECT_TRUE(bad(TensorLayout{DType::kF32, {-2, -3}, {}}));    // negative
  EXPECT_TRUE(bad(TensorLayout{DType::kF32, {2, 3}, {0, 0}}));  // not a permutation
  EXPECT_TRUE(bad(TensorLayout{DType::kF32, {2, 3}, {0}}));     // wrong rank
  EXPECT_TRUE(bad(TensorLayout{DType::kF32, {2, 3}, {0, 2}}));  // out of range
  EXPECT_TRUE(writer.Add("n", a, TensorLayout{DType::kI8, {4, 6}, {1, 0}}).ok());
}

TEST(PtdWriter, FailedWriteLeavesNothingBehind) {
  TempDir dir;
  std::filesystem::create_directory(dir / "taken");
  WriteBytes(dir / "taken/file", std::vector<uint8_t>{1});
  std::vector<uint8_t> a = Pattern(24, 1);
  PtdWriter writer;
  ASSERT_TRUE(writer.Add("a", a, std::nullopt).ok());
  // The destination is a non-empty directory: the final rename fails.
  auto result = writer.Write(dir / "taken");
  ASSERT_FALSE(result.ok());
  size_t entries = 0;
  for (const auto& item : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(item.path().filename(), "taken");
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
}

TEST(PtdFile, EmptyFileIsValid) {
  TempDir dir;
  PtdWriter writer;
  ASSERT_TRUE(writer.Write(dir / "e.ptd").ok());
  auto file = PtdFile::Open(dir / "e.ptd");
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_TRUE((*file)->entries().empty());
  EXPECT_EQ((*file)->Find("a"), nullptr);
}

TEST(PtdFile, MissingFileIsNotFound) {
  auto file = PtdFile::Open("/nonexistent/dir/x.ptd");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().message().find("/nonexistent/dir/x.ptd"), std::string::npos);
}

TEST(PtdFile, TruncatedAtEveryBoundaryIsCorrupt) {
  TempDir dir;
  std::vector<uint8_t> bytes = SmallPtd(dir);
  ASSERT_TRUE(PtdFile::Validate(bytes, "bad.ptd").ok());
  uint64_t fb_end = LoadLe(bytes, 16, 8) + LoadLe(bytes, 24, 8);
  uint64_t base = LoadLe(bytes, 32, 8);
  for (uint64_t size :
       {uint64_t{0}, uint64_t{3}, uint64_t{4}, uint64_t{8}, uint64_t{12}, uint64_t{47},
        uint64_t{48}, fb_end - 1, fb_end, base, base + 1, uint64_t{bytes.size() - 1}}) {
    SCOPED_TRACE(size);
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + size);
    Status status = PtdFile::Validate(cut, "bad.ptd");
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kCorrupt) << status.error().message();
    EXPECT_NE(status.error().message().find("bad.ptd"), std::string::npos);
  }
}

TEST(PtdFile, BitFlipsNeverCrash) {
  TempDir dir;
  std::vector<uint8_t> bytes = SmallPtd(dir);
  uint64_t head = LoadLe(bytes, 32, 8);
  size_t rejected = 0;
  for (size_t at = 0; at < head; ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> flipped = bytes;
      flipped[at] ^= static_cast<uint8_t>(1 << bit);
      Status status = PtdFile::Validate(flipped, "bad.ptd");
      if (status.ok()) continue;
      ++rejected;
      EXPECT_TRUE(status.error().code() == ErrorCode::kCorrupt ||
                  status.error().code() == ErrorCode::kUnsupported)
          << status.error().message();
      EXPECT_NE(status.error().message().find("bad.ptd"), std::string::npos);
    }
  }
  EXPECT_GT(rejected, 0u);
}

TEST(PtdFile, WrongMagicAndIdentifier) {
  TempDir dir;
  std::vector<uint8_t> bytes = SmallPtd(dir);
  std::vector<uint8_t> magic = bytes;
  magic[9] = 'X';
  ExpectError(magic, ErrorCode::kCorrupt, "FH01");
  std::vector<uint8_t> identifier = bytes;
  identifier[5] = 'Z';
  ExpectError(identifier, ErrorCode::kCorrupt, "FT01");
  std::vector<uint8_t> short_header = bytes;
  StoreLe(short_header, 12, 32, 4);
  ExpectError(short_header, ErrorCode::kCorrupt, "header length");
}

TEST(PtdFile, HeaderRegionsOutOfBounds) {
  TempDir dir;
  std::vector<uint8_t> bytes = SmallPtd(dir);
  const uint64_t kMax = std::numeric_limits<uint64_t>::max();
  std::vector<uint8_t> v = bytes;
  StoreLe(v, 24, kMax, 8);  // flatbuffer_size
  ExpectError(v, ErrorCode::kCorrupt, "flatbuffer");
  v = bytes;
  StoreLe(v, 16, kMax - 8, 8);  // flatbuffer_offset: offset + size overflows
  ExpectError(v, ErrorCode::kCorrupt, "flatbuffer");
  v = bytes;
  StoreLe(v, 32, kMax, 8);  // segment_base_offset
  ExpectError(v, ErrorCode::kCorrupt, "segment");
  v = bytes;
  StoreLe(v, 40, kMax, 8);  // segment_data_size
  ExpectError(v, ErrorCode::kCorrupt, "segment data");
  v = bytes;
  StoreLe(v, 32, 100, 8);  // segment base inside the flatbuffer
  ExpectError(v, ErrorCode::kCorrupt, "overlaps");
  v = bytes;
  StoreLe(v, 0, 0x7ffffff0, 4);  // root offset far past the flatbuffer
  ExpectError(v, ErrorCode::kCorrupt, "verification");
}

// A header claiming a flatbuffer of 2 GiB in a (sparse) file that large: the
// reader refuses it before flatbuffers' verifier, which cannot take it.
TEST(PtdFile, FlatbufferOverTwoGibIsCorrupt) {
  TempDir dir;
  std::vector<uint8_t> bytes = SmallPtd(dir);
  const uint64_t kSize = (uint64_t{1} << 31) + 4096;
  StoreLe(bytes, 24, kSize - 48, 8);  // flatbuffer_size: the region ends at the file end
  StoreLe(bytes, 32, 0, 8);
  StoreLe(bytes, 40, 0, 8);
  std::string path = dir / "huge.ptd";
  WriteBytes(path, bytes);
  std::filesystem::resize_file(path, kSize);
  auto file = PtdFile::Open(path);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(file.error().message().find("2 GiB"), std::string::npos) << file.error().message();
  EXPECT_NE(file.error().message().find(path), std::string::npos);
}

TEST(PtdFile, CraftedMetadataErrors) {
  const uint64_t kMax = std::numeric_limits<uint64_t>::max();
  ASSERT_TRUE(PtdFile::Validate(Craft({{0, 16}}, {{"k", 0}}, 16), "ok.ptd").ok());

  ExpectError(Craft({{0, 16}}, {{"k", 1}}, 16), ErrorCode::kCorrupt, "segment_index 1");
  ExpectError(Craft({{0, 17}}, {{"k", 0}}, 16), ErrorCode::kCorrupt, "segment 0");
  ExpectError(Craft({{kMax, 1}}, {{"k", 0}}, 16), ErrorCode::kCorrupt, "segment 0");
  ExpectError(Craft({{1, kMax}}, {{"k", 0}}, 16), ErrorCode::kCorrupt, "segment 0");
  ExpectError(Craft({{0, 8}, {8, 8}}, {{"k", 0}, {"j", 1}, {"k", 1}}, 16), ErrorCode::kCorrupt,
              "'k' appears twice");
  ExpectError(Craft({{0, 16}}, {{"k", 0}}, 16, 1), ErrorCode::kUnsupported, "version 1");
  ExpectError(Craft({{0, 16}}, {{"k", 0, 6, {2, 3}, {}}}, 16), ErrorCode::kCorrupt,
              "needs 24 bytes");
  ExpectError(Craft({{0, 16}}, {{"k", 0, 6, {2, 2}, {1, 1}}}, 16), ErrorCode::kCorrupt,
              "dim_order");
  ExpectError(Craft({{0, 16}}, {{"k", 0, 6, {-4, -1}, {}}}, 16), ErrorCode::kCorrupt, "negative");
  ExpectError(Craft({{0, 16}}, {{"k", 0, 6, {1 << 30, 1 << 30, 1 << 30}, {}}}, 16),
              ErrorCode::kCorrupt, "too many");
  ExpectError(Craft({{0, 16}}, {{"k", 0, 23, {16}, {}}}, 16), ErrorCode::kUnsupported,
              "scalar type 23");
  EXPECT_TRUE(
      PtdFile::Validate(Craft({{0, 16}}, {{"k", 0, 6, {2, 2}, {1, 0}}}, 16), "ok.ptd").ok());
}

}  // namespace
}  // namespace lorashare

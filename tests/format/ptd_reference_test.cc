// .ptd checked against references that do not share our code: files laid out
// by a Python transcription of ExecuTorch's two writers (flatc from JSON), our
// files decoded by flatc, header bytes parsed by hand, and the header example
// of ExecuTorch's docs/source/ptd-file-format.md.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "base/sha256.h"
#include "format/container_header.h"
#include "format/format_test_util.h"
#include "format/ptd.h"

namespace lorashare {
namespace {

using testing::CommandResult;
using testing::LoadLe;
using testing::ReadBytes;
using testing::RunCommand;
using testing::SourcePath;
using testing::TempDir;

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

class ExecuTorchLayoutTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ExecuTorchLayoutTest, ReaderFindsEveryBlob) {
  TempDir dir;
  std::string ptd = dir / "ref.ptd", manifest_path = dir / "manifest.json";
  const CommandResult writer = RunCommand(
      "/usr/bin/python3 " + SourcePath("tests/format/executorch_ptd.py") + " " + GetParam() + " " +
      SourcePath("src/format/flat_tensor.fbs") + " " + ptd + " " + manifest_path);
  ASSERT_EQ(writer.exit_code, 0) << writer.output;
  nlohmann::json manifest = ReadJson(manifest_path);

  auto file = PtdFile::Open(ptd);
  ASSERT_TRUE(file.ok()) << file.error().message();
  const PtdFile& ptd_file = **file;
  EXPECT_EQ(ptd_file.version(), 0u);
  EXPECT_EQ(ptd_file.segment_base_offset(), manifest["segment_base_offset"].get<uint64_t>());
  EXPECT_EQ(ptd_file.segment_count(), manifest["segment_count"].get<size_t>());
  EXPECT_EQ(ptd_file.fingerprint(), manifest["fingerprint"].get<std::string>());
  ASSERT_EQ(ptd_file.entries().size(), manifest["entries"].size());
  for (const auto& expected : manifest["entries"]) {
    std::string key = expected["key"];
    SCOPED_TRACE(key);
    const PtdEntry* entry = ptd_file.Find(key);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry->segment_index, expected["segment_index"].get<uint32_t>());
    EXPECT_EQ(entry->offset, expected["offset"].get<uint64_t>());
    EXPECT_EQ(entry->size, expected["size"].get<uint64_t>());
    EXPECT_EQ(ToHex(Sha256Of(ptd_file.Bytes(*entry))), expected["sha256"].get<std::string>());
    ASSERT_EQ(entry->layout.has_value(), expected.contains("layout"));
    if (entry->layout) {
      EXPECT_EQ(DTypeName(entry->layout->dtype), expected["layout"]["dtype"].get<std::string>());
      EXPECT_EQ(entry->layout->sizes, expected["layout"]["sizes"].get<std::vector<int32_t>>());
      EXPECT_EQ(entry->layout->dim_order,
                expected["layout"]["dim_order"].get<std::vector<uint8_t>>());
    }
  }
  EXPECT_EQ(ptd_file.Find("no.such.key"), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Writers, ExecuTorchLayoutTest, ::testing::Values("python", "cpp"));

// The example in ExecuTorch's docs/source/ptd-file-format.md ("xxd -l 64
// ModuleAddMulProgram.ptd"), which is all the docs show of that file.
TEST(PtdDocExample, HeaderFieldsParse) {
  std::vector<uint8_t> bytes = {0x44, 0x00, 0x00, 0x00, 0x46, 0x54, 0x30, 0x31, 0x46, 0x48,
                                0x30, 0x31, 0x28, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00,
                                0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                0x00, 0x00, 0x30, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  // The rest of that file is not published: give it its full length.
  bytes.resize(0x130 + 0x20);
  auto header = ParseContainerHeader(bytes, kPtdContainer, "ModuleAddMul.ptd");
  ASSERT_TRUE(header.ok()) << header.error().message();
  EXPECT_EQ(header->flatbuffer_offset, 0x30u);
  EXPECT_EQ(header->flatbuffer_size, 0x100u);
  EXPECT_EQ(header->segment_base_offset, 0x130u);
  EXPECT_EQ(header->segment_data_size, 0x20u);
  EXPECT_EQ(header->flatbuffer_end(), 0x130u);

  // One byte short of its segment data: the header no longer fits the file.
  bytes.pop_back();
  auto truncated = ParseContainerHeader(bytes, kPtdContainer, "ModuleAddMul.ptd");
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().code(), ErrorCode::kCorrupt);
}

struct Blob {
  std::string key;
  std::vector<uint8_t> bytes;
  std::optional<TensorLayout> layout;
};

std::vector<Blob> SampleBlobs() {
  std::vector<Blob> blobs;
  auto pattern = [](size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 31 + (i >> 8));
    return v;
  };
  blobs.push_back(
      {"layers.0.wq", pattern(4 * 6 * 4, 1), TensorLayout{DType::kF32, {4, 6}, {0, 1}}});
  blobs.push_back({"embedding", pattern(70000 * 2, 2), TensorLayout{DType::kBF16, {7000, 10}, {}}});
  blobs.push_back({"norm", pattern(10 * 2, 3), TensorLayout{DType::kF16, {10}, {0}}});
  blobs.push_back({"wq.alias", pattern(4 * 6 * 4, 1), TensorLayout{DType::kF32, {4, 6}, {0, 1}}});
  blobs.push_back({"opaque", pattern(33, 4), std::nullopt});
  blobs.push_back({"ids", pattern(3 * 8, 5), TensorLayout{DType::kI64, {3}, {}}});
  blobs.push_back({"scale.i8", pattern(5, 6), TensorLayout{DType::kI8, {5}, {}}});
  return blobs;
}

std::string ScalarTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "FLOAT";
    case DType::kF16:
      return "HALF";
    case DType::kBF16:
      return "BFLOAT16";
    case DType::kI8:
      return "CHAR";
    case DType::kU8:
      return "BYTE";
    case DType::kI64:
      return "LONG";
    default:
      return "?";
  }
}

// Our writer's file, read back by flatc and by hand: no lorashare reader code.
TEST(PtdWriterReference, FlatcAndHandParsingAgree) {
  TempDir dir;
  std::vector<Blob> blobs = SampleBlobs();
  PtdWriter writer(PtdWriterOptions{.segment_alignment = 64, .page_align_min_bytes = 4096});
  for (const Blob& blob : blobs) ASSERT_TRUE(writer.Add(blob.key, blob.bytes, blob.layout).ok());
  std::string path = dir / "out.ptd";
  auto fingerprint = writer.Write(path);
  ASSERT_TRUE(fingerprint.ok()) << fingerprint.error().message();

  const CommandResult flatc = RunCommand(
      "cd " + dir.path() + " && flatc --json --raw-binary --strict-json " +
      "--defaults-json -o . " + SourcePath("src/format/flat_tensor.fbs") + " -- out.ptd");
  ASSERT_EQ(flatc.exit_code, 0) << flatc.output;
  nlohmann::json doc = ReadJson(dir / "out.json");
  std::vector<uint8_t> bytes = ReadBytes(path);

  // Header, by hand.
  ASSERT_GE(bytes.size(), 48u);
  EXPECT_EQ(std::string(bytes.begin() + 4, bytes.begin() + 8), "FT01");
  EXPECT_EQ(std::string(bytes.begin() + 8, bytes.begin() + 12), "FH01");
  EXPECT_EQ(LoadLe(bytes, 12, 4), 40u);
  uint64_t fb_offset = LoadLe(bytes, 16, 8), fb_size = LoadLe(bytes, 24, 8);
  uint64_t base = LoadLe(bytes, 32, 8), data_size = LoadLe(bytes, 40, 8);
  EXPECT_EQ(fb_offset, 48u);
  EXPECT_GT(LoadLe(bytes, 0, 4), fb_offset);  // the root table lies past the header
  EXPECT_LT(LoadLe(bytes, 0, 4), fb_offset + fb_size);
  EXPECT_GE(base, fb_offset + fb_size);
  EXPECT_EQ(base % 4096, 0u);
  EXPECT_EQ(base + data_size, bytes.size());
  EXPECT_EQ(ToHex(Sha256Of(std::span(bytes).first(base))), *fingerprint);

  // Metadata, from flatc.
  EXPECT_EQ(doc["version"], 0);
  ASSERT_EQ(doc["named_data"].size(), blobs.size());
  ASSERT_EQ(doc["segments"].size(), blobs.size() - 1);  // wq.alias shares layers.0.wq's bytes
  uint64_t last_end = 0;
  for (size_t i = 0; i < blobs.size(); ++i) {
    const Blob& blob = blobs[i];
    const auto& named = doc["named_data"][i];
    SCOPED_TRACE(blob.key);
    EXPECT_EQ(named["key"], blob.key);
    const auto& segment = doc["segments"][named["segment_index"].get<size_t>()];
    uint64_t offset = segment["offset"], size = segment["size"];
    EXPECT_EQ(size, blob.bytes.size());
    EXPECT_EQ(offset % 64, 0u);
    if (size >= 4096) {
      EXPECT_EQ((base + offset) % 4096, 0u);
    }
    ASSERT_LE(base + offset + size, bytes.size());
    EXPECT_TRUE(std::equal(blob.bytes.begin(), blob.bytes.end(), bytes.begin() + base + offset));
    last_end = std::max(last_end, offset + size);
    ASSERT_EQ(named.contains("tensor_layout"), blob.layout.has_value());
    if (blob.layout) {
      EXPECT_EQ(named["tensor_layout"]["scalar_type"], ScalarTypeName(blob.layout->dtype));
      EXPECT_EQ(named["tensor_layout"]["sizes"].get<std::vector<int32_t>>(), blob.layout->sizes);
      EXPECT_EQ(named["tensor_layout"]["dim_order"].get<std::vector<uint8_t>>(),
                blob.layout->dim_order);
    }
  }
  EXPECT_EQ(doc["named_data"][0]["segment_index"], doc["named_data"][3]["segment_index"]);
  EXPECT_EQ(last_end, data_size);
  // Segments are sorted by offset, as ExecuTorch's schema requires.
  for (size_t i = 1; i < doc["segments"].size(); ++i) {
    EXPECT_LT(doc["segments"][i - 1]["offset"].get<uint64_t>(),
              doc["segments"][i]["offset"].get<uint64_t>());
  }
}

}  // namespace
}  // namespace lorashare

// The safetensors reader and writer against pyref.py's independent
// implementation, and the reader's refusal of malformed files.
#include "import/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

#include "import_test_util.h"
#include "testmodel/safetensors_writer.h"

namespace lorashare {
namespace {

using testing::ReadBytes;
using testing::RunPyRef;
using testing::TempDir;

std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// A file with the given JSON header and `data_size` bytes of data.
std::vector<uint8_t> MakeFile(const std::string& header, size_t data_size) {
  std::vector<uint8_t> out(8 + header.size() + data_size, 0x5a);
  const uint64_t size = header.size();
  std::memcpy(out.data(), &size, 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

Result<SafetensorsFile> ParseBytes(const std::vector<uint8_t>& bytes) {
  return SafetensorsFile::Parse(bytes, "test.safetensors", nullptr);
}

std::string ErrorOf(const std::string& header, size_t data_size) {
  auto result = ParseBytes(MakeFile(header, data_size));
  EXPECT_FALSE(result.ok()) << header;
  return result.ok() ? "" : result.error().message();
}

TEST(Safetensors, ReadsFileWrittenByPython) {
  TempDir dir;
  auto manifest = RunPyRef({"safetensors", dir / "a.safetensors"});
  auto file = SafetensorsFile::Open(dir / "a.safetensors");
  ASSERT_TRUE(file.ok()) << file.error().message();
  testing::ExpectTensorsMatch(file->tensors(), manifest["tensors"]);
  EXPECT_EQ(file->metadata().at("format"), "pt");
  EXPECT_EQ(file->metadata().at("note"), "pyref");
  ASSERT_NE(file->Find("m.bf16"), nullptr);
  EXPECT_EQ(file->Find("m.bf16")->element_count(), 7);
  EXPECT_EQ(file->Find("nope"), nullptr);
}

TEST(Safetensors, TensorsAreViewsIntoTheMapping) {
  TempDir dir;
  RunPyRef({"safetensors", dir / "a.safetensors"});
  auto file = SafetensorsFile::Open(dir / "a.safetensors");
  ASSERT_TRUE(file.ok());
  const TensorRef* first = &file->tensors().front();
  const TensorRef* last = &file->tensors().back();
  ASSERT_NE(first->keep_alive, nullptr);
  // Consecutive tensors are adjacent in one mapping.
  EXPECT_EQ(file->tensors()[0].bytes.data() + file->tensors()[0].bytes.size(),
            file->tensors()[1].bytes.data());
  EXPECT_EQ(first->keep_alive, last->keep_alive);
}

TEST(Safetensors, WriterOutputReadByPython) {
  TempDir dir;
  std::vector<float> f32 = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -1e-3f};
  std::vector<uint16_t> bf16 = {0x3f80, 0xc000, 0x4049};
  std::vector<int64_t> i64 = {1, -2, 1LL << 40};
  auto bytes = [](const auto& v) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()),
                                    v.size() * sizeof(v[0]));
  };
  std::vector<TensorRef> tensors(4);
  tensors[0] = {"layer.b", DType::kF32, {2, 3}, bytes(f32), nullptr};
  tensors[1] = {"layer.a", DType::kBF16, {3}, bytes(bf16), nullptr};
  tensors[2] = {"ids", DType::kI64, {3}, bytes(i64), nullptr};
  tensors[3] = {"layer.a2", DType::kF32, {3}, bytes(f32).subspan(0, 12), nullptr};
  ASSERT_TRUE(WriteSafetensors(dir / "w.safetensors", tensors, {{"format", "pt"}}).ok());

  auto read = RunPyRef({"read-safetensors", dir / "w.safetensors"});
  testing::ExpectTensorsMatch(tensors, read["tensors"]);
  EXPECT_EQ(read["metadata"]["format"], "pt");
  EXPECT_EQ(read["header_size"].get<int>() % 8, 0);
  // Widest dtype first, then by name.
  EXPECT_EQ(read["order"], nlohmann::json({"ids", "layer.a2", "layer.b", "layer.a"}));

  // And our reader agrees with our writer.
  auto file = SafetensorsFile::Open(dir / "w.safetensors");
  ASSERT_TRUE(file.ok()) << file.error().message();
  testing::ExpectTensorsMatch(file->tensors(), read["tensors"]);
}

TEST(Safetensors, WriterRejectsWrongByteCount) {
  TempDir dir;
  std::vector<float> f32(5);
  std::vector<TensorRef> tensors(1);
  tensors[0] = {
      "x", DType::kF32, {2, 3}, AsBytes({reinterpret_cast<char*>(f32.data()), 20}), nullptr};
  auto status = WriteSafetensors(dir / "w.safetensors", tensors);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("x"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "w.safetensors"));
}

TEST(Safetensors, EveryTruncationIsAnError) {
  TempDir dir;
  RunPyRef({"safetensors", dir / "a.safetensors"});
  auto bytes = ReadBytes(dir / "a.safetensors");
  for (size_t size = 0; size < bytes.size(); ++size) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + size);
    EXPECT_FALSE(ParseBytes(cut).ok()) << "truncated to " << size;
  }
}

TEST(Safetensors, BitFlipsInTheHeaderNeverCrash) {
  TempDir dir;
  RunPyRef({"safetensors", dir / "a.safetensors"});
  auto bytes = ReadBytes(dir / "a.safetensors");
  uint64_t header_size;
  std::memcpy(&header_size, bytes.data(), 8);
  int rejected = 0;
  for (size_t bit = 0; bit < (8 + header_size) * 8; ++bit) {
    std::vector<uint8_t> flipped = bytes;
    flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto result = ParseBytes(flipped);
    if (!result.ok()) {
      ++rejected;
      continue;
    }
    // Whatever is accepted stays inside the buffer.
    for (const TensorRef& t : result->tensors()) {
      EXPECT_GE(t.bytes.data(), flipped.data());
      EXPECT_LE(t.bytes.data() + t.bytes.size(), flipped.data() + flipped.size());
    }
  }
  EXPECT_GT(rejected, 0);
}

TEST(Safetensors, HeaderLengthPastEndOfFile) {
  auto bytes = MakeFile("{}", 0);
  uint64_t huge = 1000;
  std::memcpy(bytes.data(), &huge, 8);
  auto result = ParseBytes(bytes);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message().find("header length 1000 is past the end"), std::string::npos)
      << result.error().message();
  EXPECT_NE(result.error().message().find("test.safetensors"), std::string::npos);
}

TEST(Safetensors, ValidHandWrittenHeader) {
  auto result = ParseBytes(MakeFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                    R"("b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}})",
                                    11));
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->tensors().size(), 2u);
}

TEST(Safetensors, MalformedHeadersNameFileAndTensor) {
  struct Case {
    std::string header;
    size_t data;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       12, "tensor \"b\" at [4, 12] overlaps"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4,
       "tensor \"a\" ends at 8, past the data section"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12,
       "tensor \"a\" starts at 4, leaving a gap"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 10,
       "the data section has 10 bytes but the tensors cover only 8"},
      {R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8,
       "tensor \"a\": data_offsets [0, 8] span 8 bytes, but shape and dtype need 12"},
      {R"({"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", 2,
       "tensor \"a\": dtype F8_E4M3 is not supported"},
      {R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8,
       "tensor \"a\": shape must hold non-negative integers"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8,
       "tensor \"a\": data_offsets must be [begin, end]"},
      {R"({"a":{"dtype":"F32","shape":[2]}})", 8, "tensor \"a\": needs \"shape\""},
      {R"({"a":{"shape":[2],"data_offsets":[0,8]}})", 8, "tensor \"a\": missing or non-string"},
      {R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],)"
       R"("data_offsets":[0,8]}})",
       8, "too many elements"},
      {R"({"__metadata__":{"k":3}})", 0, "__metadata__ value \"k\" is not a string"},
      {R"([1,2])", 0, "not a JSON object"},
      {R"({"a": )", 0, "not valid JSON"},
  };
  for (const Case& c : cases) {
    std::string message = ErrorOf(c.header, c.data);
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.header << "\n -> " << message;
    EXPECT_NE(message.find("test.safetensors"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace lorashare

// The GGUF reader against llama.cpp's gguf-py (writing a file with every value
// type, and dumping real vocab files) run by /usr/bin/python3.
#include "import/gguf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "reference_data.h"
#include "test_files.h"

namespace lorashare {
namespace {

using nlohmann::json;
using testing::LlamaCppVocab;
using testing::ReadFileOrDie;
using testing::SourceDir;

std::string RunReference(const std::string& command, const std::string& path) {
  std::string line = fmt::format("/usr/bin/python3 {}/tests/llm/gguf_reference.py {} {}",
                                 SourceDir(), command, path);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(line.c_str(), "r"), pclose);
  std::string out;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe.get())) > 0;) out.append(buffer, n);
  return out;
}

json ToJson(const GgufValue& value) {
  if (auto* i = std::get_if<int64_t>(&value.value)) {
    return value.type == GgufType::kU64 ? json(static_cast<uint64_t>(*i)) : json(*i);
  }
  if (auto* d = std::get_if<double>(&value.value)) return *d;
  if (auto* b = std::get_if<bool>(&value.value)) return *b;
  if (auto* s = std::get_if<std::string_view>(&value.value)) return std::string(*s);
  const auto& elements = std::get<std::vector<GgufValue>>(value.value);
  if (value.element_type == GgufType::kArray) return json{{"nested", elements.size()}};
  json array = json::array();
  for (const GgufValue& element : elements) array.push_back(ToJson(element));
  if (array.size() > 8) {
    return json{{"length", array.size()},
                {"first", json(std::vector<json>(array.begin(), array.begin() + 3))},
                {"last", json(std::vector<json>(array.end() - 3, array.end()))}};
  }
  return json{{"array", array}};
}

void ExpectMatchesReference(const std::string& path) {
  json expected = json::parse(RunReference("dump", path));
  auto file = GgufFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.error().message();
  json metadata = json::object();
  for (const auto& [key, value] : file->metadata()) metadata[std::string(key)] = ToJson(value);
  EXPECT_EQ(metadata, expected["metadata"]);
  json tensors = json::array();
  for (const GgufTensorInfo& t : file->tensors()) {
    tensors.push_back({{"name", std::string(t.name)},
                       {"dims", t.dims},
                       {"type", t.ggml_type},
                       {"offset", file->data_offset() + t.offset},
                       {"bytes", t.data.size()}});
  }
  EXPECT_EQ(tensors, expected["tensors"]);
}

std::string WrittenByGgufPy() {
  std::string path = testing::TestFilePath("all_types.gguf");
  RunReference("write", path);
  return path;
}

TEST(GgufTest, EveryValueTypeMatchesGgufPy) { ExpectMatchesReference(WrittenByGgufPy()); }

TEST(GgufTest, VocabFileMatchesGgufPy) {
  // gguf-py takes seconds per 100k strings, so the smallest real vocabulary.
  ExpectMatchesReference(LlamaCppVocab("llama-spm"));
}

TEST(GgufTest, TensorBytesAndTypedGetters) {
  auto file = GgufFile::Open(WrittenByGgufPy());
  ASSERT_TRUE(file.ok());
  ASSERT_EQ(file->tensors().size(), 2u);
  const GgufTensorInfo& w = file->tensors()[0];
  ASSERT_EQ(w.data.size(), 48u);
  float values[12];
  std::memcpy(values, w.data.data(), sizeof(values));
  EXPECT_EQ(values[11], 11.0f);  // np.arange(12)
  EXPECT_EQ(*file->GetInt("t.u32"), 4000000000);
  EXPECT_EQ(*file->GetString("t.string"), "héllo 🦙");
  EXPECT_THAT(*file->GetIntArray("t.ints"), ::testing::ElementsAre(1, -2, 3));
  EXPECT_THAT(*file->GetFloatArray("t.floats"), ::testing::ElementsAre(0.5, -1.25));
  EXPECT_TRUE(*file->GetBool("t.bool"));
  auto missing = file->GetInt("no.such.key");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message(), ::testing::HasSubstr("'no.such.key' is missing"));
  auto wrong = file->GetInt("t.string");
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.error().message(), ::testing::HasSubstr("'t.string' is a string"));
}

TEST(GgufTest, EveryTruncationIsAnError) {
  std::string bytes = ReadFileOrDie(WrittenByGgufPy());
  auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  auto whole = GgufFile::Parse({data, bytes.size()}, "whole.gguf");
  ASSERT_TRUE(whole.ok());
  const GgufTensorInfo& last = whole->tensors().back();
  size_t end = whole->data_offset() + last.offset + last.data.size();  // then only padding
  // Every cut inside the header, metadata, tensor table or tensor data.
  for (size_t length = 0; length < end; ++length) {
    auto file = GgufFile::Parse({data, length}, "cut.gguf");
    EXPECT_FALSE(file.ok()) << "cut at " << length;
  }
}

TEST(GgufTest, RejectsCorruptHeaders) {
  std::string bytes = ReadFileOrDie(WrittenByGgufPy());
  auto parse = [](std::string b) {
    auto file = GgufFile::Parse({reinterpret_cast<const uint8_t*>(b.data()), b.size()}, "x.gguf");
    return file.ok() ? std::string("ok") : file.error().message();
  };
  std::string magic = bytes;
  magic[0] = 'X';
  EXPECT_THAT(parse(magic), ::testing::HasSubstr("not a GGUF file"));
  std::string version = bytes;
  version[4] = 9;
  EXPECT_THAT(parse(version), ::testing::HasSubstr("GGUF version 9"));
  std::string count = bytes;
  count[16 + 7] = 0x7F;  // metadata count ~2^62
  EXPECT_THAT(parse(count), ::testing::HasSubstr("cannot fit"));
  // The first key's type field follows its length (8) and name.
  size_t type_offset = 24 + 8 + std::string("general.architecture").size();
  std::string type = bytes;
  type[type_offset] = 77;
  EXPECT_THAT(parse(type), ::testing::HasSubstr("unknown value type 77"));
}

}  // namespace
}  // namespace lorashare

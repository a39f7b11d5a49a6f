// torch.save zips written by pyref.py (stdlib zipfile + pickle with torch's
// globals stubbed, so the opcodes are torch.save's), our writer's output read
// back by pyref.py, and Meta checkpoints whose wq/wk rows are checked against
// a numpy implementation of transformers' permute().
#include "import/torch_archive.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "base/mapped_file.h"
#include "import/checkpoint.h"
#include "import/pickle.h"
#include "import/zip_reader.h"
#include "import_test_util.h"
#include "testmodel/torch_writer.h"

namespace lorashare {
namespace {

using testing::ReadBytes;
using testing::RunPyRef;
using testing::TempDir;
using namespace std::string_literals;

Result<TorchArchive> ParseBytes(const std::vector<uint8_t>& bytes) {
  return TorchArchive::Parse(bytes, "test.pth", nullptr);
}

TEST(TorchArchive, ReadsPythonWrittenVariants) {
  for (std::string option : {"plain", "shared", "parameter", "metadata", "zip64"}) {
    SCOPED_TRACE(option);
    TempDir dir;
    auto manifest = RunPyRef({"pth", dir / "m.pth", option});
    auto archive = TorchArchive::Open(dir / "m.pth");
    ASSERT_TRUE(archive.ok()) << archive.error().message();
    testing::ExpectTensorsMatch(archive->tensors(), manifest["tensors"]);
  }
}

TEST(TorchArchive, TensorsAreViewsIntoTheMapping) {
  TempDir dir;
  RunPyRef({"pth", dir / "m.pth", "plain"});
  auto archive = TorchArchive::Open(dir / "m.pth");
  ASSERT_TRUE(archive.ok());
  auto bytes = ReadBytes(dir / "m.pth");
  const TensorRef* w = archive->Find("layers.0.w");
  ASSERT_NE(w, nullptr);
  ASSERT_NE(w->keep_alive, nullptr);
  // The view's bytes occur in the file at the same place as in the mapping.
  auto file = std::static_pointer_cast<const MappedFile>(w->keep_alive);
  const size_t offset = w->bytes.data() - file->bytes().data();
  ASSERT_LE(offset + w->bytes.size(), bytes.size());
  EXPECT_EQ(std::memcmp(bytes.data() + offset, w->bytes.data(), w->bytes.size()), 0);
}

TEST(TorchArchive, CompressedEntriesAreRefused) {
  TempDir dir;
  RunPyRef({"pth", dir / "m.pth", "deflate"});
  auto archive = TorchArchive::Open(dir / "m.pth");
  ASSERT_FALSE(archive.ok());
  EXPECT_NE(archive.error().message().find("is compressed"), std::string::npos)
      << archive.error().message();
}

TEST(TorchArchive, NonContiguousTensorsAreRefused) {
  TempDir dir;
  RunPyRef({"pth", dir / "m.pth", "strided"});
  auto archive = TorchArchive::Open(dir / "m.pth");
  ASSERT_FALSE(archive.ok());
  EXPECT_NE(archive.error().message().find("tensor layers.0.w: strides [1, 6] are not contiguous"),
            std::string::npos)
      << archive.error().message();
}

TEST(TorchArchive, EveryTruncationIsAnError) {
  TempDir dir;
  RunPyRef({"pth", dir / "m.pth", "plain"});
  auto bytes = ReadBytes(dir / "m.pth");
  for (size_t size = 0; size < bytes.size(); ++size) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + size);
    EXPECT_FALSE(ParseBytes(cut).ok()) << "truncated to " << size;
  }
}

TEST(TorchArchive, BitFlipsNeverCrashAndPickleFlipsAreCaught) {
  TempDir dir;
  RunPyRef({"pth", dir / "m.pth", "zip64"});
  auto bytes = ReadBytes(dir / "m.pth");
  auto zip = ZipReader::Parse(bytes, "m.pth");
  ASSERT_TRUE(zip.ok());
  const ZipEntry* pickle = zip->Find("model/data.pkl");
  ASSERT_NE(pickle, nullptr);
  for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    std::vector<uint8_t> flipped = bytes;
    flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto result = ParseBytes(flipped);
    const size_t byte = bit / 8;
    if (byte >= pickle->data_offset && byte < pickle->data_offset + pickle->size) {
      EXPECT_FALSE(result.ok()) << "flip in data.pkl at byte " << byte;  // CRC-32
    }
    if (!result.ok()) continue;
    for (const TensorRef& t : result->tensors()) {
      EXPECT_GE(t.bytes.data(), flipped.data());
      EXPECT_LE(t.bytes.data() + t.bytes.size(), flipped.data() + flipped.size());
    }
  }
}

TEST(Pickle, HostilePicklesAreRefused) {
  struct Case {
    std::string bytes;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"\x80\x02"
       "cos\nsystem\n(X\x02\x00\x00\x00lstR."s,
       "cannot call os.system"},
      {"\x80\x02"
       "0.",
       "opcode 0x30 is not supported"},
      {"\x80\x02"
       "h\x05.",
       "memo key 5 was never stored"},
      {"\x80\x02"
       "t.",
       "no MARK"},
      {"\x80\x02"
       "s.",
       "stack underflow"},
      {"\x80\x02"
       "X\xff\xff\xff\x00"
       "abc"s,
       "truncated"},
      {"\x80\x02"
       "(N(N(NQ.",
       "persistent id"},
      {"\x80\x02"
       "\x8a\x09"
       "123456789.",
       "too large"},
      {"\x80\x02"
       "}N.",
       "STOP with 2 values"},
  };
  for (const Case& c : cases) {
    auto result =
        Unpickle({reinterpret_cast<const uint8_t*>(c.bytes.data()), c.bytes.size()}, "p.pkl");
    ASSERT_FALSE(result.ok()) << c.expected;
    EXPECT_NE(result.error().message().find(c.expected), std::string::npos)
        << result.error().message();
    EXPECT_NE(result.error().message().find("p.pkl"), std::string::npos);
  }
  std::string deep(100000, '(');
  deep = "\x80\x02" + deep + ".";
  EXPECT_FALSE(Unpickle({reinterpret_cast<const uint8_t*>(deep.data()), deep.size()}, "p").ok());
}

TEST(Pickle, SelfReferenceIsHarmless) {
  // d = {}; d["self"] = d
  std::string bytes = "\x80\x02}q\x00X\x04\x00\x00\x00selfh\x00s."s;
  auto result = Unpickle({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, "p");
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->at(result->root).items[1], result->root);
  // l = []; l.append(l)
  bytes =
      "\x80\x02]q\x00h\x00"
      "a."s;
  result = Unpickle({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, "p");
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->at(result->root).items[0], result->root);
}

TEST(TorchWriter, RejectsWrongByteCountAndWritesNothing) {
  TempDir dir;
  std::vector<float> f32(5);
  std::vector<TensorRef> tensors(1);
  tensors[0] = {"layers.0.attention.wq.weight",
                DType::kF32,
                {2, 3},
                {reinterpret_cast<const uint8_t*>(f32.data()), f32.size() * sizeof(float)},
                nullptr};
  const Status status = WriteTorchCheckpoint(dir / "w.pt", tensors);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(status.error().message().find("w.pt: tensor layers.0.attention.wq.weight has 20 bytes, "
                                          "its shape needs 24"),
            std::string::npos)
      << status.error().message();
  EXPECT_FALSE(std::filesystem::exists(dir / "w.pt"));
}

TEST(TorchWriter, OutputReadByPythonAndByUs) {
  for (bool zip64 : {false, true}) {
    SCOPED_TRACE(zip64);
    TempDir dir;
    std::vector<float> f32 = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -1e-3f};
    std::vector<uint16_t> half = {0x3c00, 0xc000, 0x4248};
    auto bytes = [](const auto& v) {
      return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()),
                                      v.size() * sizeof(v[0]));
    };
    std::vector<TensorRef> tensors(4);
    tensors[0] = {"layers.0.attention.wq.weight", DType::kF32, {2, 3}, bytes(f32), nullptr};
    tensors[1] = {"norm.weight", DType::kBF16, {3}, bytes(half), nullptr};
    tensors[2] = {"emb", DType::kF16, {1, 3}, bytes(half), nullptr};
    tensors[3] = {"scalar", DType::kF32, {}, bytes(f32).subspan(0, 4), nullptr};
    ASSERT_TRUE(WriteTorchCheckpoint(dir / "w.pt", tensors, {.force_zip64 = zip64}).ok());
    auto read = RunPyRef({"read-pth", dir / "w.pt"});
    testing::ExpectTensorsMatch(tensors, read["tensors"]);
    EXPECT_TRUE(read["zip"]["stored"].get<bool>());
    EXPECT_TRUE(read["zip"]["crc_ok"].get<bool>());
    EXPECT_EQ(read["zip"]["version"], "3\n");
    EXPECT_EQ(read["zip"]["byteorder"], "little");
    EXPECT_EQ(read["zip"]["protocol"], 2);
    EXPECT_EQ(read["zip"]["names"][0], "archive/data.pkl");
    for (const auto& offset : read["zip"]["data_offsets"]) EXPECT_EQ(offset.get<int>() % 64, 0);

    auto archive = TorchArchive::Open(dir / "w.pt");
    ASSERT_TRUE(archive.ok()) << archive.error().message();
    testing::ExpectTensorsMatch(archive->tensors(), read["tensors"]);
  }
}

TEST(MetaCheckpoint, PermutesQkAndDerivesTheConfig) {
  for (std::string dtype : {"f32", "bf16"}) {
    for (bool tied : {false, true}) {
      SCOPED_TRACE(dtype + (tied ? " tied" : " untied"));
      TempDir dir;
      auto manifest = RunPyRef({"meta", dir.path(), dtype, tied ? "tied" : "untied"});
      auto checkpoint = Checkpoint::Open(dir.path());
      ASSERT_TRUE(checkpoint.ok()) << checkpoint.error().message();
      testing::ExpectTensorsMatch((*checkpoint)->tensors(), manifest["tensors"]);
      const ModelConfig& c = (*checkpoint)->config();
      EXPECT_EQ(c.hidden_dim, manifest["hidden_dim"].get<int>());
      EXPECT_EQ(c.hidden_dim, 256);
      EXPECT_EQ(c.n_kv_heads, 2);
      EXPECT_EQ(c.head_dim, 16);
      EXPECT_EQ(c.max_context, 8192);
      EXPECT_EQ(c.tied_embeddings, tied);
      EXPECT_TRUE(c.rope_scaling.enabled);
      EXPECT_FLOAT_EQ(c.rope_scaling.factor, 8.0f);
      EXPECT_FLOAT_EQ(c.rope_theta, 500000.0f);
      EXPECT_EQ((*checkpoint)->tokenizer_path(), dir / "tokenizer.model");
    }
  }
}

TEST(MetaCheckpoint, MissingParamsFieldIsNamed) {
  TempDir dir;
  RunPyRef({"meta", dir.path(), "f32", "untied"});
  nlohmann::json params;
  std::ifstream(dir / "params.json") >> params;
  params.erase("multiple_of");
  std::ofstream(dir / "params.json", std::ios::trunc) << params.dump();
  auto checkpoint = Checkpoint::Open(dir.path());
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_NE(checkpoint.error().message().find("params.json: missing field \"multiple_of\""),
            std::string::npos)
      << checkpoint.error().message();
}

}  // namespace
}  // namespace lorashare

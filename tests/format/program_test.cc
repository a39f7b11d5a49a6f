// .pte: WriteProgram and ProgramFile. References: flatc decodes our files with
// program.fbs, header bytes are read by hand, and malformed programs are made
// by editing flatc's JSON and encoding it back with flatc (so the bad files
// never pass through our writer's checks).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <limits>

#include "format/container_header.h"
#include "format/format_test_util.h"
#include "format/program.h"

namespace lorashare {
namespace {

using nlohmann::json;
using testing::CommandResult;
using testing::LoadLe;
using testing::ReadBytes;
using testing::RunCommand;
using testing::SourcePath;
using testing::TempDir;
using testing::WriteBytes;

const std::string kFingerprint(64, 'a');

std::vector<uint8_t> Fill(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + 3 * i);
  return v;
}

TensorSpec External(std::string name, std::vector<int64_t> shape, std::string key) {
  TensorSpec t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.data_file = 0;
  t.nbytes = 4;
  for (int64_t d : t.shape) t.nbytes *= d;
  t.key = std::move(key);
  return t;
}

TensorSpec Inline(std::string name, DType dtype, std::vector<int64_t> shape, int32_t segment) {
  TensorSpec t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.nbytes = DTypeSize(dtype);
  for (int64_t d : t.shape) t.nbytes *= d;
  t.segment = segment;
  return t;
}

// A one-layer program that uses every opcode, with inline and external tensors.
struct Sample {
  ProgramSpec spec;
  std::vector<std::vector<uint8_t>> data;
  std::vector<std::span<const uint8_t>> spans() const { return {data.begin(), data.end()}; }
};

Sample MakeSample() {
  Sample s;
  ProgramSpec& p = s.spec;
  p.producer = "format test";
  p.model = ModelConfig{.arch = Architecture::kQwen3,
                        .dim = 8,
                        .n_layers = 1,
                        .n_heads = 2,
                        .n_kv_heads = 1,
                        .head_dim = 4,
                        .hidden_dim = 16,
                        .vocab_size = 10,
                        .max_context = 32,
                        .norm_eps = 1e-6f,
                        .rope_theta = 1e6f,
                        .rope_scaling = {true, 8.0f, 1.0f, 4.0f, 8192},
                        .tied_embeddings = false,
                        .qk_norm = true};
  p.tokenizer = {1, {2, 3}};
  p.values = {{"tokens", 1}, {"x", 8}, {"h", 8}, {"q", 8},
              {"k", 4},      {"v", 4}, {"o", 8}, {"logits", 10}};
  p.input_value = 0;
  p.output_value = 7;
  p.tensors = {External("tok_embeddings.weight", {10, 8}, "f32-" + std::string(64, '1')),
               External("norm.weight", {8}, "f32-" + std::string(64, '2')),
               External("layers.0.attention.wq.weight", {8, 8}, "f32-" + std::string(64, '3')),
               Inline("layers.0.attention.wq.lora_a", DType::kF32, {2, 8}, 0),
               Inline("layers.0.attention.wq.lora_b", DType::kF32, {8, 2}, 1),
               Inline("output.weight", DType::kBF16, {10, 8}, 2)};
  using O = OpCode;
  p.instructions = {
      {O::kEmbedding, {0}, {1}, {0}, {}, {}}, {O::kRmsNorm, {1}, {2}, {1}, {8}, {1e-6f}},
      {O::kLinear, {2}, {3}, {2}, {}, {}},    {O::kLora, {2, 3}, {3}, {3, 4}, {}, {2.0f}},
      {O::kRope, {3}, {3}, {}, {2, 4}, {}},   {O::kAttention, {3, 4, 5}, {6}, {}, {0, 2, 1, 4}, {}},
      {O::kSwiGlu, {6, 6}, {6}, {}, {}, {}},  {O::kAdd, {1, 6}, {1}, {}, {}, {}},
      {O::kLastToken, {1}, {2}, {}, {}, {}},  {O::kLinear, {2}, {7}, {5}, {}, {}},
  };
  p.data_files = {{"foundation.ptd", DataRole::kFoundation, kFingerprint}};
  p.adapter = AdapterSpec{"math", 2, 4.0f, 2.0f, false, {"q_proj"}};
  s.data = {Fill(64, 1), Fill(64, 2), Fill(160, 3)};
  return s;
}

void ExpectSameSpec(const ProgramSpec& a, const ProgramSpec& b) {
  EXPECT_EQ(a.producer, b.producer);
  EXPECT_EQ(a.model.arch, b.model.arch);
  EXPECT_EQ(a.model.dim, b.model.dim);
  EXPECT_EQ(a.model.n_layers, b.model.n_layers);
  EXPECT_EQ(a.model.n_heads, b.model.n_heads);
  EXPECT_EQ(a.model.n_kv_heads, b.model.n_kv_heads);
  EXPECT_EQ(a.model.head_dim, b.model.head_dim);
  EXPECT_EQ(a.model.hidden_dim, b.model.hidden_dim);
  EXPECT_EQ(a.model.vocab_size, b.model.vocab_size);
  EXPECT_EQ(a.model.max_context, b.model.max_context);
  EXPECT_EQ(a.model.norm_eps, b.model.norm_eps);
  EXPECT_EQ(a.model.rope_theta, b.model.rope_theta);
  EXPECT_EQ(a.model.rope_scaling.enabled, b.model.rope_scaling.enabled);
  EXPECT_EQ(a.model.rope_scaling.factor, b.model.rope_scaling.factor);
  EXPECT_EQ(a.model.rope_scaling.original_max_position, b.model.rope_scaling.original_max_position);
  EXPECT_EQ(a.model.tied_embeddings, b.model.tied_embeddings);
  EXPECT_EQ(a.model.qk_norm, b.model.qk_norm);
  EXPECT_EQ(a.tokenizer.bos_id, b.tokenizer.bos_id);
  EXPECT_EQ(a.tokenizer.eos_ids, b.tokenizer.eos_ids);
  ASSERT_EQ(a.values.size(), b.values.size());
  for (size_t i = 0; i < a.values.size(); ++i) {
    EXPECT_EQ(a.values[i].name, b.values[i].name);
    EXPECT_EQ(a.values[i].width, b.values[i].width);
  }
  EXPECT_EQ(a.input_value, b.input_value);
  EXPECT_EQ(a.output_value, b.output_value);
  ASSERT_EQ(a.instructions.size(), b.instructions.size());
  for (size_t i = 0; i < a.instructions.size(); ++i) {
    EXPECT_EQ(a.instructions[i].op, b.instructions[i].op);
    EXPECT_EQ(a.instructions[i].inputs, b.instructions[i].inputs);
    EXPECT_EQ(a.instructions[i].outputs, b.instructions[i].outputs);
    EXPECT_EQ(a.instructions[i].tensors, b.instructions[i].tensors);
    EXPECT_EQ(a.instructions[i].int_args, b.instructions[i].int_args);
    EXPECT_EQ(a.instructions[i].float_args, b.instructions[i].float_args);
  }
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    EXPECT_EQ(a.tensors[i].name, b.tensors[i].name);
    EXPECT_EQ(a.tensors[i].dtype, b.tensors[i].dtype);
    EXPECT_EQ(a.tensors[i].shape, b.tensors[i].shape);
    EXPECT_EQ(a.tensors[i].nbytes, b.tensors[i].nbytes);
    EXPECT_EQ(a.tensors[i].segment, b.tensors[i].segment);
    EXPECT_EQ(a.tensors[i].data_file, b.tensors[i].data_file);
    EXPECT_EQ(a.tensors[i].key, b.tensors[i].key);
  }
  ASSERT_EQ(a.data_files.size(), b.data_files.size());
  for (size_t i = 0; i < a.data_files.size(); ++i) {
    EXPECT_EQ(a.data_files[i].name, b.data_files[i].name);
    EXPECT_EQ(a.data_files[i].role, b.data_files[i].role);
    EXPECT_EQ(a.data_files[i].fingerprint, b.data_files[i].fingerprint);
  }
  ASSERT_EQ(a.adapter.has_value(), b.adapter.has_value());
  if (a.adapter) {
    EXPECT_EQ(a.adapter->name, b.adapter->name);
    EXPECT_EQ(a.adapter->rank, b.adapter->rank);
    EXPECT_EQ(a.adapter->alpha, b.adapter->alpha);
    EXPECT_EQ(a.adapter->scale, b.adapter->scale);
    EXPECT_EQ(a.adapter->use_rslora, b.adapter->use_rslora);
    EXPECT_EQ(a.adapter->targets, b.adapter->targets);
  }
}

std::vector<uint8_t> WriteSample(const TempDir& dir, const Sample& sample) {
  std::string path = dir / "sample.pte";
  Status status = WriteProgram(path, sample.spec, sample.spans());
  EXPECT_TRUE(status.ok()) << status.error().message();
  return ReadBytes(path);
}

// Decodes `pte` with flatc into JSON.
json Decode(const TempDir& dir, const std::vector<uint8_t>& pte) {
  WriteBytes(dir / "decode.pte", pte);
  const CommandResult flatc =
      RunCommand("cd " + dir.path() + " && flatc --json --raw-binary --strict-json " +
                 "--defaults-json -o . " + SourcePath("src/format/program.fbs") + " -- decode.pte");
  EXPECT_EQ(flatc.exit_code, 0) << flatc.output;
  std::ifstream in(dir / "decode.json");
  return json::parse(in);
}

// Re-encodes `pte` after editing its metadata as JSON, keeping its segments.
std::vector<uint8_t> Mutate(const TempDir& dir, const std::vector<uint8_t>& pte,
                            const std::function<void(json&)>& edit) {
  json doc = Decode(dir, pte);
  edit(doc);
  std::filesystem::create_directories(dir / "enc");
  std::ofstream(dir / "enc/edited.json") << doc.dump();
  const CommandResult flatc =
      RunCommand("flatc --binary -o " + dir / "enc" + " " + SourcePath("src/format/program.fbs") +
                 " " + dir / "enc/edited.json");
  EXPECT_EQ(flatc.exit_code, 0) << flatc.output;
  std::vector<uint8_t> flatbuffer = ReadBytes(dir / "enc/edited.pte");
  uint64_t base = LoadLe(pte, 32, 8), data_size = LoadLe(pte, 40, 8);
  std::vector<uint8_t> out = BuildContainerHead(flatbuffer, kPteContainer, 64, data_size);
  out.insert(out.end(), pte.begin() + base, pte.begin() + base + data_size);
  return out;
}

TEST(Program, RoundTrip) {
  TempDir dir;
  Sample sample = MakeSample();
  WriteSample(dir, sample);
  auto file = ProgramFile::Open(dir / "sample.pte");
  ASSERT_TRUE(file.ok()) << file.error().message();
  ExpectSameSpec((*file)->spec(), sample.spec);
  for (const TensorSpec& tensor : (*file)->spec().tensors) {
    auto bytes = (*file)->InlineBytes(tensor);
    if (!tensor.is_inline()) {
      EXPECT_TRUE(bytes.empty());
      continue;
    }
    const auto& expected = sample.data[tensor.segment];
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), expected.begin(), expected.end()))
        << tensor.name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(bytes.data()) % 64, 0u);
  }
}

TEST(Program, BaseProgramWithoutAdapterOrSegments) {
  TempDir dir;
  Sample sample = MakeSample();
  sample.spec.adapter.reset();
  sample.spec.model.rope_scaling = {};
  sample.spec.tensors.resize(3);
  sample.spec.instructions = {{OpCode::kEmbedding, {0}, {1}, {0}, {}, {}}};
  sample.data.clear();
  WriteSample(dir, sample);
  auto file = ProgramFile::Open(dir / "sample.pte");
  ASSERT_TRUE(file.ok()) << file.error().message();
  ExpectSameSpec((*file)->spec(), sample.spec);
}

TEST(Program, OpCodeNames) {
  EXPECT_EQ(OpCodeName(OpCode::kEmbedding), "embedding");
  EXPECT_EQ(OpCodeName(OpCode::kLora), "lora");
  EXPECT_EQ(OpCodeName(OpCode::kLastToken), "last_token");
}

// Our file, read by flatc and by hand only.
TEST(Program, FlatcAndHandParsingAgree) {
  TempDir dir;
  Sample sample = MakeSample();
  std::vector<uint8_t> bytes = WriteSample(dir, sample);
  ASSERT_GE(bytes.size(), 48u);
  EXPECT_EQ(std::string(bytes.begin() + 4, bytes.begin() + 8), "LSP1");
  EXPECT_EQ(std::string(bytes.begin() + 8, bytes.begin() + 12), "LH01");
  EXPECT_EQ(LoadLe(bytes, 12, 4), 40u);
  uint64_t fb_end = LoadLe(bytes, 16, 8) + LoadLe(bytes, 24, 8);
  uint64_t base = LoadLe(bytes, 32, 8), data_size = LoadLe(bytes, 40, 8);
  EXPECT_GE(base, fb_end);
  EXPECT_EQ(base % 64, 0u);
  EXPECT_EQ(base + data_size, bytes.size());

  json doc = Decode(dir, bytes);
  EXPECT_EQ(doc["version"], kProgramVersion);
  EXPECT_EQ(doc["producer"], "format test");
  EXPECT_EQ(doc["model"]["architecture"], "QWEN3");
  EXPECT_EQ(doc["model"]["dim"], 8);
  EXPECT_EQ(doc["model"]["head_dim"], 4);
  EXPECT_EQ(doc["model"]["qk_norm"], true);
  EXPECT_EQ(doc["model"]["rope_scaling"]["factor"], 8.0);
  EXPECT_EQ(doc["tokenizer"]["eos_ids"], json::array({2, 3}));
  EXPECT_EQ(doc["output_value"], 7);
  ASSERT_EQ(doc["instructions"].size(), 10u);
  EXPECT_EQ(doc["instructions"][3]["op"], "LORA");
  EXPECT_EQ(doc["instructions"][3]["tensors"], json::array({3, 4}));
  EXPECT_EQ(doc["instructions"][5]["op"], "ATTENTION");
  EXPECT_EQ(doc["instructions"][5]["int_args"], json::array({0, 2, 1, 4}));
  EXPECT_EQ(doc["data_files"][0]["role"], "FOUNDATION");
  EXPECT_EQ(doc["data_files"][0]["fingerprint"], kFingerprint);
  EXPECT_EQ(doc["adapter"]["targets"], json::array({"q_proj"}));
  ASSERT_EQ(doc["tensors"].size(), 6u);
  EXPECT_EQ(doc["tensors"][0]["data_file"], 0);
  EXPECT_EQ(doc["tensors"][0]["segment"], -1);
  EXPECT_EQ(doc["tensors"][5]["dtype"], "BF16");
  EXPECT_EQ(doc["tensors"][5]["nbytes"], 160);
  ASSERT_EQ(doc["segments"].size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    uint64_t offset = doc["segments"][i]["offset"], size = doc["segments"][i]["size"];
    EXPECT_EQ(offset % 64, 0u);
    EXPECT_EQ(size, sample.data[i].size());
    ASSERT_LE(base + offset + size, bytes.size());
    EXPECT_TRUE(
        std::equal(sample.data[i].begin(), sample.data[i].end(), bytes.begin() + base + offset));
  }
}

TEST(Program, WriterRefusesInvalidSpecs) {
  TempDir dir;
  Sample sample = MakeSample();
  sample.spec.instructions[2].tensors = {99};
  Status status = WriteProgram(dir / "bad.pte", sample.spec, sample.spans());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(status.error().message().find("instruction 2 (linear)"), std::string::npos)
      << status.error().message();
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.pte"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            0);
}

TEST(Program, TruncatedAndBitFlippedNeverCrash) {
  TempDir dir;
  std::vector<uint8_t> bytes = WriteSample(dir, MakeSample());
  ASSERT_TRUE(ProgramFile::Parse(bytes, "bad.pte").ok());
  uint64_t fb_end = LoadLe(bytes, 16, 8) + LoadLe(bytes, 24, 8);
  uint64_t base = LoadLe(bytes, 32, 8);
  for (uint64_t size : {uint64_t{0}, uint64_t{7}, uint64_t{8}, uint64_t{47}, uint64_t{48},
                        fb_end - 1, fb_end, base, uint64_t{bytes.size() - 1}}) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + size);
    auto result = ProgramFile::Parse(cut, "bad.pte");
    ASSERT_FALSE(result.ok()) << size;
    EXPECT_EQ(result.error().code(), ErrorCode::kCorrupt) << result.error().message();
    EXPECT_NE(result.error().message().find("bad.pte"), std::string::npos);
  }
  size_t rejected = 0;
  for (size_t at = 0; at < base; ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> flipped = bytes;
      flipped[at] ^= static_cast<uint8_t>(1 << bit);
      auto result = ProgramFile::Parse(flipped, "bad.pte");
      if (result.ok()) continue;
      ++rejected;
      EXPECT_TRUE(result.error().code() == ErrorCode::kCorrupt ||
                  result.error().code() == ErrorCode::kUnsupported)
          << result.error().message();
      EXPECT_NE(result.error().message().find("bad.pte"), std::string::npos);
    }
  }
  EXPECT_GT(rejected, 0u);
}

struct BadCase {
  std::string name;
  std::function<void(json&)> edit;
  ErrorCode code;
  std::string fragment;
};

TEST(Program, RejectsEveryKindOfBadMetadata) {
  TempDir dir;
  std::vector<uint8_t> bytes = WriteSample(dir, MakeSample());
  // The unedited JSON round trip through flatc is accepted.
  ASSERT_TRUE(ProgramFile::Parse(Mutate(dir, bytes, [](json&) {}), "bad.pte").ok());
  const uint64_t kMax = std::numeric_limits<uint64_t>::max();
  std::vector<BadCase> cases = {
      {"version", [](json& d) { d["version"] = 2; }, ErrorCode::kUnsupported, "version 2"},
      {"no model", [](json& d) { d.erase("model"); }, ErrorCode::kCorrupt, "model"},
      {"model", [](json& d) { d["model"]["n_kv_heads"] = 3; }, ErrorCode::kCorrupt,
       "num_key_value_heads"},
      {"input value", [](json& d) { d["input_value"] = 8; }, ErrorCode::kCorrupt, "input_value 8"},
      {"output value", [](json& d) { d["output_value"] = -1; }, ErrorCode::kCorrupt,
       "output_value -1"},
      {"value width", [](json& d) { d["values"][2]["width"] = 0; }, ErrorCode::kCorrupt,
       "value 2 'h'"},
      {"input index", [](json& d) { d["instructions"][0]["inputs"][0] = 8; }, ErrorCode::kCorrupt,
       "instruction 0 (embedding): inputs[0] = 8"},
      {"output index", [](json& d) { d["instructions"][4]["outputs"][0] = -2; },
       ErrorCode::kCorrupt, "instruction 4 (rope): outputs[0] = -2"},
      {"tensor index", [](json& d) { d["instructions"][3]["tensors"][1] = 6; }, ErrorCode::kCorrupt,
       "instruction 3 (lora): tensors[1] = 6"},
      {"arity inputs", [](json& d) { d["instructions"][6]["inputs"] = json::array({6}); },
       ErrorCode::kCorrupt, "instruction 6 (swiglu) has 1 inputs, expected 2"},
      {"arity tensors",
       [](json& d) {
         d["instructions"][2]["tensors"] = json::array({2, 2});
       },
       ErrorCode::kCorrupt, "instruction 2 (linear) has 2 tensors"},
      {"arity int args", [](json& d) { d["instructions"][4]["int_args"] = json::array({2}); },
       ErrorCode::kCorrupt, "instruction 4 (rope) has 1 int args"},
      {"arity float args", [](json& d) { d["instructions"][3]["float_args"] = json::array(); },
       ErrorCode::kCorrupt, "instruction 3 (lora) has 0 float args"},
      {"attention layer", [](json& d) { d["instructions"][5]["int_args"][0] = 1; },
       ErrorCode::kCorrupt, "layer 1"},
      {"head count", [](json& d) { d["instructions"][5]["int_args"][1] = 0; }, ErrorCode::kCorrupt,
       "instruction 5 (attention): int arg 1"},
      {"nbytes", [](json& d) { d["tensors"][3]["nbytes"] = 63; }, ErrorCode::kCorrupt,
       "tensor 3 'layers.0.attention.wq.lora_a': nbytes 63"},
      {"tiled nbytes", [](json& d) { d["tensors"][4]["layout"] = "TILED"; }, ErrorCode::kCorrupt,
       "tensor 4 'layers.0.attention.wq.lora_b': nbytes 64 does not match f32 tiled [8, 2] (128 "
       "bytes)"},
      {"tiled dtype",
       [](json& d) {
         d["tensors"][4]["layout"] = "TILED";
         d["tensors"][4]["dtype"] = "U8";
       },
       ErrorCode::kCorrupt, "layout tiled needs dtype f32, bf16 or f16"},
      {"negative shape", [](json& d) { d["tensors"][1]["shape"] = json::array({-8}); },
       ErrorCode::kCorrupt, "tensor 1 'norm.weight': shape"},
      {"huge shape",
       [](json& d) {
         d["tensors"][1]["shape"] = json::array({1LL << 40, 1LL << 40});
       },
       ErrorCode::kCorrupt, "tensor 1 'norm.weight': shape"},
      {"segment index", [](json& d) { d["tensors"][4]["segment"] = 3; }, ErrorCode::kCorrupt,
       "tensor 4 'layers.0.attention.wq.lora_b': segment 3 is out of range"},
      {"segment size", [](json& d) { d["segments"][0]["size"] = 32; }, ErrorCode::kCorrupt,
       "segment 0 holds 32 bytes"},
      {"segment bounds", [](json& d) { d["segments"][2]["offset"] = 4096; }, ErrorCode::kCorrupt,
       "segment 2"},
      {"segment overflow", [kMax](json& d) { d["segments"][1]["offset"] = kMax; },
       ErrorCode::kCorrupt, "segment 1"},
      {"both places", [](json& d) { d["tensors"][3]["data_file"] = 0; }, ErrorCode::kCorrupt,
       "needs exactly one"},
      {"neither place", [](json& d) { d["tensors"][0]["data_file"] = -1; }, ErrorCode::kCorrupt,
       "tensor 0 'tok_embeddings.weight': needs exactly one"},
      {"data file index", [](json& d) { d["tensors"][2]["data_file"] = 1; }, ErrorCode::kCorrupt,
       "data_file 1 is out of range"},
      {"missing key", [](json& d) { d["tensors"][2].erase("key"); }, ErrorCode::kCorrupt,
       "tensor 2 'layers.0.attention.wq.weight': external tensor has no key"},
      {"fingerprint", [](json& d) { d["data_files"][0]["fingerprint"] = "xyz"; },
       ErrorCode::kCorrupt, "fingerprint 'xyz'"},
      {"adapter rank", [](json& d) { d["adapter"]["rank"] = 0; }, ErrorCode::kCorrupt,
       "adapter 'math'"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto result = ProgramFile::Parse(Mutate(dir, bytes, c.edit), "bad.pte");
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code(), c.code) << result.error().message();
    EXPECT_NE(result.error().message().find("bad.pte"), std::string::npos);
    EXPECT_NE(result.error().message().find(c.fragment), std::string::npos)
        << result.error().message();
  }
}

TEST(Program, WrongContainerIsRejected) {
  TempDir dir;
  std::vector<uint8_t> bytes = WriteSample(dir, MakeSample());
  std::vector<uint8_t> magic = bytes;
  magic[8] = 'F';
  auto result = ProgramFile::Parse(magic, "bad.pte");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message().find("LH01"), std::string::npos);
  // A .ptd is not a program.
  std::vector<uint8_t> ptd = bytes;
  std::copy_n("FT01FH01", 8, ptd.begin() + 4);
  result = ProgramFile::Parse(ptd, "bad.pte");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(result.error().message().find("LSP1"), std::string::npos);
}

}  // namespace
}  // namespace lorashare

// Quantized, prepacked export (`lorashare export --quantize ...`): shared
// foundation files, content keys checked by an independent script, packed
// weights read back against the checkpoint's f32 values, sizes, the tied
// output layer, LoRA scale folding, inspect, and bad flags.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "export/check_ptd_keys.h"
#include "format/program.h"
#include "format/ptd.h"
#include "import/checkpoint.h"
#include "import/lora_adapter.h"
#include "kernels/convert.h"
#include "kernels/quantize.h"
#include "test_util.h"

namespace lorashare {
namespace {

using testing::CheckPtdKeys;
using testing::FileSize;
using testing::RunCommand;
using testing::RunLorashare;
using testing::TempDir;

// A program and the foundation it was exported with.
struct Exported {
  std::shared_ptr<const ProgramFile> program;
  std::shared_ptr<const PtdFile> foundation;

  const TensorSpec* Tensor(const std::string& name) const {
    for (const auto& t : program->spec().tensors) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }
  std::span<const uint8_t> Bytes(const TensorSpec& t) const {
    if (t.is_inline()) return program->InlineBytes(t);
    const PtdEntry* entry = foundation->Find(t.key);
    return entry != nullptr ? foundation->Bytes(*entry) : std::span<const uint8_t>();
  }
  // The last instruction: the output layer (LINEAR).
  const InstructionSpec& OutputLayer() const { return program->spec().instructions.back(); }
};

std::vector<float> F32Of(const TensorRef& ref) {
  std::vector<float> values(static_cast<size_t>(ref.element_count()));
  ConvertToF32(ref.dtype, ref.bytes.data(), values.size(), values.data());
  return values;
}

// The largest |w| over [begin, end) of one row.
float MaxAbs(const float* row, int64_t begin, int64_t end) {
  float m = 0;
  for (int64_t c = begin; c < end; ++c) m = std::max(m, std::fabs(row[c]));
  return m;
}

// Checks that every value of a packed tensor, read back with DequantizeRow,
// lies within one quantization step of the checkpoint's value. The step is
// computed here from the f32 weights: max|w| / 127 per row (int8), max|w| / 8
// per group (int4: the clamp to +7 costs up to one step; the f16 scale adds a
// relative 2^-11 twice). Returns the mean
// absolute error over the step, so callers can tell real rounding from none.
double CheckWithinOneStep(const TensorSpec& t, std::span<const uint8_t> blob,
                          const TensorRef& source) {
  EXPECT_EQ(t.dtype, DType::kU8) << t.name;
  EXPECT_EQ(t.shape, source.shape) << t.name;
  const int64_t rows = source.shape[0], cols = source.shape[1];
  const std::vector<float> w = F32Of(source);
  MatrixView view{DType::kU8, blob.data(), rows, cols, t.layout, t.group_size};
  std::vector<float> row(static_cast<size_t>(cols));
  const int64_t group = t.layout == WeightLayout::kQ4Group ? t.group_size : cols;
  double relative_sum = 0;
  int64_t count = 0;
  for (int64_t r = 0; r < rows; ++r) {
    DequantizeRow(view, r, row.data());
    const float* expected = w.data() + r * cols;
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t begin = c / group * group;
      const float m = MaxAbs(expected, begin, std::min(cols, begin + group));
      const double step = t.layout == WeightLayout::kQ8Row ? m / 127.0 : m / 8.0;
      const double bound =
          t.layout == WeightLayout::kQ8Row ? (0.5 + 1e-4) * step : step * (1 + 16.0 / 2048);
      const double error = std::fabs(static_cast<double>(row[c]) - expected[c]);
      EXPECT_LE(error, bound) << t.name << " [" << r << ", " << c << "] " << row[c] << " vs "
                              << expected[c];
      if (error > bound) return -1;
      if (step > 0) relative_sum += error / step;
      ++count;
    }
  }
  return relative_sum / static_cast<double>(count);
}

class QuantizedExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = RunLorashare("make-test-model --preset tiny --quiet --out " + dir_ / "base" +
                             " --lora-out " + dir_ / "adapter");
    ASSERT_EQ(made.exit_code, 0) << made.output;
  }

  // Exports the base (and the adapter when `name` starts with "lora") with
  // `flags`; files are <name>.pte and <name>.ptd.
  testing::CommandResult Export(const std::string& name, const std::string& flags) {
    const std::string adapter =
        name.rfind("lora", 0) == 0 ? " --adapter " + dir_ / "adapter" : std::string();
    return RunLorashare("export --quiet --checkpoint " + dir_ / "base" + adapter + " --output " +
                        dir_ / (name + ".pte") + " --foundation-weights " + dir_ / (name + ".ptd") +
                        " " + flags);
  }

  Exported Load(const std::string& name) {
    Exported out;
    auto program = ProgramFile::Open(dir_ / (name + ".pte"));
    EXPECT_TRUE(program.ok()) << program.error().message();
    auto ptd = PtdFile::Open(dir_ / (name + ".ptd"));
    EXPECT_TRUE(ptd.ok()) << ptd.error().message();
    if (program.ok()) out.program = *program;
    if (ptd.ok()) out.foundation = *ptd;
    return out;
  }

  std::unique_ptr<Checkpoint> Base() {
    auto checkpoint = Checkpoint::Open(dir_ / "base");
    EXPECT_TRUE(checkpoint.ok()) << checkpoint.error().message();
    return checkpoint.ok() ? std::move(checkpoint).value() : nullptr;
  }

  TempDir dir_;
};

const char* const kModes[] = {"--quantize 8da4w", "--quantize 8da4w --group-size 128",
                              "--quantize int8", "--quantize 8da4w --embedding-quantize 4,32",
                              "--quantize bf16 --embedding-quantize 8,0"};

TEST_F(QuantizedExportTest, FoundationIsByteIdenticalWithAndWithoutAdapterInEveryMode) {
  for (const char* mode : kModes) {
    SCOPED_TRACE(mode);
    auto base = Export("base", mode);
    ASSERT_EQ(base.exit_code, 0) << base.output;
    auto lora = Export("lora", std::string(mode) + " --adapter-weights " + dir_ / "lora-a.ptd");
    ASSERT_EQ(lora.exit_code, 0) << lora.output;
    auto cmp = RunCommand("cmp " + dir_ / "base.ptd" + " " + dir_ / "lora.ptd");
    EXPECT_EQ(cmp.exit_code, 0) << cmp.output;
    auto resolved = RunLorashare("inspect " + dir_ / "lora.pte" + " --data " + dir_ / "base.ptd" +
                                 "," + dir_ / "lora-a.ptd");
    EXPECT_EQ(resolved.exit_code, 0) << resolved.output;
    EXPECT_EQ(resolved.output.find("problem"), std::string::npos) << resolved.output;
  }
}

TEST_F(QuantizedExportTest, KeysAndLayoutsCheckedIndependently) {
  for (const char* mode : kModes) {
    SCOPED_TRACE(mode);
    ASSERT_EQ(Export("lora", mode).exit_code, 0);
    auto check = CheckPtdKeys(dir_ / "lora.ptd", dir_ / "lora.pte");
    EXPECT_EQ(check.exit_code, 0) << check.output;
    EXPECT_EQ(check.output.rfind("ok ", 0), 0u) << check.output;
  }
  // The script refuses a key that does not name its blob's content.
  ASSERT_EQ(Export("base", "--quantize 8da4w").exit_code, 0);
  uint64_t offset = 0;
  {
    auto ptd = PtdFile::Open(dir_ / "base.ptd");
    ASSERT_TRUE(ptd.ok());
    for (const auto& e : (*ptd)->entries()) {
      if (e.key.rfind("q4g32-", 0) == 0) offset = e.offset;
    }
  }
  ASSERT_GT(offset, 0u);
  {
    std::fstream file(dir_ / "base.ptd", std::ios::binary | std::ios::in | std::ios::out);
    file.seekg(static_cast<std::streamoff>(offset));
    const char byte = static_cast<char>(file.get() ^ 0x11);
    file.seekp(static_cast<std::streamoff>(offset));
    file.put(byte);
  }
  auto refused = CheckPtdKeys(dir_ / "base.ptd");
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("content hash"), std::string::npos) << refused.output;
}

TEST_F(QuantizedExportTest, PackedWeightsReadBackWithinOneStepOfTheCheckpoint) {
  auto checkpoint = Base();
  ASSERT_NE(checkpoint, nullptr);
  for (const char* mode :
       {"--quantize 8da4w", "--quantize 8da4w --group-size 64", "--quantize 8da4w --group-size 128",
        "--quantize int8", "--quantize f32 --embedding-quantize 4,32"}) {
    SCOPED_TRACE(mode);
    ASSERT_EQ(Export("base", mode).exit_code, 0);
    Exported e = Load("base");
    ASSERT_NE(e.program, nullptr);
    int packed = 0;
    for (const auto& t : e.program->spec().tensors) {
      const TensorRef* source =
          checkpoint->Find(t.name == "output.weight" ? "tok_embeddings.weight" : t.name);
      ASSERT_NE(source, nullptr) << t.name;
      if (t.layout == WeightLayout::kPlain) {
        // Plain tensors keep the checkpoint's f32 bytes.
        EXPECT_EQ(t.dtype, DType::kF32) << t.name;
        auto bytes = e.Bytes(t);
        EXPECT_TRUE(
            std::equal(bytes.begin(), bytes.end(), source->bytes.begin(), source->bytes.end()))
            << t.name;
        continue;
      }
      const double mean = CheckWithinOneStep(t, e.Bytes(t), *source);
      // Rounding happened: on average a fraction of a step, never all exact.
      EXPECT_GT(mean, 0.05) << t.name;
      EXPECT_LT(mean, 0.5) << t.name;
      ++packed;
    }
    EXPECT_GT(packed, 0);
  }
}

TEST_F(QuantizedExportTest, LinearWeightsAreGroupedInt4AndNormsStayF32) {
  ASSERT_EQ(Export("base", "--quantize 8da4w").exit_code, 0);
  Exported e = Load("base");
  ASSERT_NE(e.program, nullptr);
  for (const auto& t : e.program->spec().tensors) {
    if (t.shape.size() == 1) {
      EXPECT_EQ(t.dtype, DType::kF32) << t.name;
      EXPECT_EQ(t.layout, WeightLayout::kPlain) << t.name;
    } else if (t.name == "tok_embeddings.weight") {
      EXPECT_EQ(t.layout, WeightLayout::kQ8Row);
    } else {
      EXPECT_EQ(t.layout, WeightLayout::kQ4Group) << t.name;
      EXPECT_EQ(t.group_size, 32) << t.name;
    }
  }
}

// Tied embeddings: an int8-per-row embedding is also the output layer (one
// copy); any other quantized embedding, or a plain one beside quantized
// linears, gets a separate int8-per-row output layer.
TEST_F(QuantizedExportTest, TiedOutputLayer) {
  struct Case {
    const char* flags;
    WeightLayout embedding;
    bool separate;
  };
  for (const Case& c :
       {Case{"--quantize 8da4w", WeightLayout::kQ8Row, false},
        Case{"--quantize int8", WeightLayout::kQ8Row, false},
        Case{"--quantize 8da4w --embedding-quantize 4,32", WeightLayout::kQ4Group, true},
        Case{"--quantize 8da4w --embedding-quantize none", WeightLayout::kPlain, true},
        Case{"--quantize bf16 --embedding-quantize 4,64", WeightLayout::kQ4Group, true},
        Case{"--quantize bf16", WeightLayout::kPlain, false}}) {
    SCOPED_TRACE(c.flags);
    ASSERT_EQ(Export("base", c.flags).exit_code, 0);
    Exported e = Load("base");
    ASSERT_NE(e.program, nullptr);
    const TensorSpec* embedding = e.Tensor("tok_embeddings.weight");
    ASSERT_NE(embedding, nullptr);
    EXPECT_EQ(embedding->layout, c.embedding);
    const TensorSpec* output = e.Tensor("output.weight");
    const auto& tensors = e.program->spec().tensors;
    const TensorSpec& used = tensors[static_cast<size_t>(e.OutputLayer().tensors.at(0))];
    if (c.separate) {
      ASSERT_NE(output, nullptr);
      EXPECT_EQ(output->layout, WeightLayout::kQ8Row);
      EXPECT_EQ(&used, output);
    } else {
      EXPECT_EQ(output, nullptr);
      EXPECT_EQ(&used, embedding);
    }
  }
}

// An untied output layer is a linear weight: int4 grouped at 8da4w, int8 per
// row at int8, plain otherwise; the embedding keeps its own setting.
TEST_F(QuantizedExportTest, UntiedOutputLayerIsQuantizedLikeTheLinearWeights) {
  auto untie = RunCommand("/usr/bin/python3 " + testing::SourceDir() +
                          "/tests/export/untie_checkpoint.py " + dir_ / "base");
  ASSERT_EQ(untie.exit_code, 0) << untie.output;
  auto checkpoint = Base();
  ASSERT_NE(checkpoint, nullptr);
  ASSERT_FALSE(checkpoint->config().tied_embeddings);
  const TensorRef* source = checkpoint->Find("output.weight");
  ASSERT_NE(source, nullptr);
  struct Case {
    const char* flags;
    WeightLayout layout;
  };
  for (const Case& c : {Case{"--quantize 8da4w --group-size 64", WeightLayout::kQ4Group},
                        Case{"--quantize int8", WeightLayout::kQ8Row},
                        Case{"--quantize bf16 --embedding-quantize 8,0", WeightLayout::kPlain}}) {
    SCOPED_TRACE(c.flags);
    ASSERT_EQ(Export("base", c.flags).exit_code, 0);
    Exported e = Load("base");
    ASSERT_NE(e.program, nullptr);
    const TensorSpec* output = e.Tensor("output.weight");
    ASSERT_NE(output, nullptr);
    EXPECT_EQ(output->layout, c.layout);
    EXPECT_EQ(e.Tensor("tok_embeddings.weight")->layout, WeightLayout::kQ8Row);
    const auto& used =
        e.program->spec().tensors[static_cast<size_t>(e.OutputLayer().tensors.at(0))];
    EXPECT_EQ(&used, output);
    if (c.layout == WeightLayout::kPlain) {
      EXPECT_EQ(output->dtype, DType::kBF16);
    } else {
      EXPECT_GT(CheckWithinOneStep(*output, e.Bytes(*output), *source), 0.05);
    }
  }
}

TEST_F(QuantizedExportTest, SizesFollowTheLayouts) {
  ASSERT_EQ(Export("f32", "").exit_code, 0);
  ASSERT_EQ(Export("g32", "--quantize 8da4w").exit_code, 0);
  ASSERT_EQ(Export("g128", "--quantize 8da4w --group-size 128").exit_code, 0);
  ASSERT_EQ(Export("int8", "--quantize int8").exit_code, 0);
  for (const char* name : {"g32", "g128", "int8"}) {
    SCOPED_TRACE(name);
    Exported e = Load(name);
    ASSERT_NE(e.program, nullptr);
    uint64_t tensor_bytes = 0;
    for (const auto& t : e.program->spec().tensors) {
      tensor_bytes += t.nbytes;
      if (t.layout == WeightLayout::kPlain) continue;
      // Bits per stored (padded) weight: 4 + 16 / group for int4 with f16
      // scales, 8 + 64 / cols for int8 with an f32 scale and i32 sum per row;
      // a blob's 64-byte section alignment adds at most 3 * 63 bytes.
      const int64_t rows = t.shape[0];
      const int64_t padded = (t.shape[1] + 127) / 128 * 128;
      const double weights = static_cast<double>(rows * padded);
      const double expected = t.layout == WeightLayout::kQ4Group
                                  ? weights * (4.0 + 16.0 / static_cast<double>(t.group_size)) / 8
                                  : weights + static_cast<double>(rows) * 8;
      EXPECT_GE(static_cast<double>(t.nbytes), expected) << t.name;
      EXPECT_LE(static_cast<double>(t.nbytes), expected + 3 * 63) << t.name;
    }
    // The file is its tensors plus head and alignment padding.
    const uint64_t file = FileSize(dir_ / (std::string(name) + ".ptd"));
    EXPECT_GE(file, tensor_bytes);
    EXPECT_LE(file, tensor_bytes + (e.foundation->segment_count() + 2) * 4096);
    // Large packed blobs start on a page, so they map straight into kernels.
    for (const auto& entry : e.foundation->entries()) {
      EXPECT_EQ(entry.offset % 64, 0u) << entry.key;
      if (entry.size >= (1u << 16)) {
        EXPECT_EQ(entry.offset % 4096, 0u) << entry.key;
      }
    }
  }
  EXPECT_LT(FileSize(dir_ / "g128.ptd"), FileSize(dir_ / "g32.ptd"));
  EXPECT_LT(FileSize(dir_ / "g32.ptd"), FileSize(dir_ / "int8.ptd"));
  EXPECT_LT(FileSize(dir_ / "int8.ptd"), FileSize(dir_ / "f32.ptd"));
}

// LoRA A/B stay f32 (or bf16 on request) and B carries the adapter's scale,
// so every LORA instruction has scale 1.
TEST_F(QuantizedExportTest, LoraScaleIsFoldedIntoB) {
  auto adapter = LoraAdapter::Open(dir_ / "adapter");
  ASSERT_TRUE(adapter.ok()) << adapter.error().message();
  const float scale = (*adapter)->config().scale();
  ASSERT_NE(scale, 1.0f);
  for (const char* dtype : {"f32", "bf16"}) {
    SCOPED_TRACE(dtype);
    ASSERT_EQ(Export("lora", std::string("--quantize 8da4w --lora-dtype ") + dtype).exit_code, 0);
    Exported e = Load("lora");
    ASSERT_NE(e.program, nullptr);
    int loras = 0;
    for (const auto& ins : e.program->spec().instructions) {
      if (ins.op != OpCode::kLora) continue;
      EXPECT_EQ(ins.float_args.at(0), 1.0f);
      ++loras;
    }
    EXPECT_EQ(loras, static_cast<int>((*adapter)->pairs().size()));
    for (const auto& pair : (*adapter)->pairs()) {
      const TensorSpec* a = e.Tensor(pair.target + ".lora_a");
      const TensorSpec* b = e.Tensor(pair.target + ".lora_b");
      ASSERT_NE(a, nullptr);
      ASSERT_NE(b, nullptr);
      EXPECT_EQ(DTypeName(a->dtype), dtype);
      EXPECT_EQ(DTypeName(b->dtype), dtype);
      EXPECT_EQ(a->layout, WeightLayout::kPlain);
      EXPECT_EQ(b->layout, WeightLayout::kTiled);
      const std::vector<float> expected_a = F32Of(pair.a), expected_b = F32Of(pair.b);
      const int64_t rows = pair.b.shape[0], rank = pair.b.shape[1];
      std::vector<float> got_a(expected_a.size()), got_b(TiledElements(rows, rank));
      ASSERT_EQ(e.Bytes(*b).size(), got_b.size() * DTypeSize(b->dtype));
      ConvertToF32(a->dtype, e.Bytes(*a).data(), got_a.size(), got_a.data());
      ConvertToF32(b->dtype, e.Bytes(*b).data(), got_b.size(), got_b.data());
      const double tolerance = a->dtype == DType::kBF16 ? 1.0 / 256 : 1e-6;
      for (size_t i = 0; i < got_a.size(); ++i) {
        ASSERT_NEAR(got_a[i], expected_a[i], tolerance * std::fabs(expected_a[i])) << i;
      }
      // Tile by tile, each tile column by column (format/weight_layout.h).
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < rank; ++c) {
          const double want = static_cast<double>(expected_b[r * rank + c]) * scale;
          const float got = got_b[(r / 16 * rank + c) * 16 + r % 16];
          ASSERT_NEAR(got, want, tolerance * std::fabs(want) + 1e-30) << r << ", " << c;
        }
      }
    }
  }
}

TEST_F(QuantizedExportTest, InspectShowsLayoutsGroupsAndTotals) {
  ASSERT_EQ(Export("lora", "--quantize 8da4w").exit_code, 0);
  auto json = RunLorashare("inspect --json " + dir_ / "lora.pte" + " " + dir_ / "lora.ptd");
  ASSERT_EQ(json.exit_code, 0) << json.output;
  auto info = nlohmann::json::parse(json.output);
  const auto& program = info.at(0);
  // 2 layers x 7 projections in int4 groups of 32; the embedding int8 per
  // row, serving as the output layer too; 2 x 2 + 1 norms; adapter f32.
  EXPECT_EQ(program["format_totals"]["q4g32"]["tensors"], 14);
  EXPECT_EQ(program["format_totals"]["q8row"]["tensors"], 1);
  int grouped = 0;
  for (const auto& t : program["tensor_list"]) {
    if (t["layout"] == "q4group") {
      EXPECT_EQ(t["group_size"], 32);
      ++grouped;
    }
  }
  EXPECT_EQ(grouped, 14);
  const auto& ptd = info.at(1);
  EXPECT_EQ(ptd["format_totals"]["q4g32"]["tensors"], 14);
  EXPECT_EQ(ptd["format_totals"]["f32"]["tensors"], 5);

  auto text = RunLorashare("inspect " + dir_ / "lora.pte");
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("layers.0.attention.wq.weight"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("group 32"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("total q4g32"), std::string::npos) << text.output;
}

TEST_F(QuantizedExportTest, BadFlagsExitWithUsageErrorAndWriteNothing) {
  struct Case {
    const char* flags;
    const char* message;
  };
  for (const Case& c : {Case{"--quantize int3", "--quantize"},
                        Case{"--quantize 8da4w --group-size 48", "--group-size"},
                        Case{"--quantize int8 --group-size 64", "--group-size"},
                        Case{"--embedding-quantize 5,0", "--embedding-quantize"},
                        Case{"--quantize 8da4w --embedding-quantize 4,48", "--embedding-quantize"},
                        Case{"--lora-dtype f16", "--lora-dtype"}}) {
    SCOPED_TRACE(c.flags);
    auto result = Export("x", c.flags);
    EXPECT_EQ(result.exit_code, 2) << result.output;
    EXPECT_NE(result.output.find(c.message), std::string::npos) << result.output;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "x.ptd"));
    EXPECT_FALSE(std::filesystem::exists(dir_ / "x.pte"));
  }
  // --dtype stays an alias of --quantize.
  ASSERT_EQ(Export("a", "--dtype bf16").exit_code, 0);
  ASSERT_EQ(Export("b", "--quantize bf16").exit_code, 0);
  EXPECT_EQ(RunCommand("cmp " + dir_ / "a.ptd" + " " + dir_ / "b.ptd").exit_code, 0);
}

}  // namespace
}  // namespace lorashare

// GGUF Q8_0 / Q4_0 output checked three ways:
// - one block worked out by hand from ggml's definitions (nibble order, the
//   sign of the Q4_0 scale, rounding);
// - llama.cpp's gguf-py reads every tensor of a quantized file, dequantizes it
//   to the same values as our decoder, and its own quantizer (a numpy port of
//   ggml's reference quantizers) re-quantizes the f32 file of the same
//   weights to exactly the stored blocks;
// - llama.cpp loads the quantized files and, teacher-forced on the tokens it
//   chooses for the f32 file, gives log-probabilities within quantization
//   error of the f32 file's.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/output_file.h"
#include "gguf_py.h"
#include "llamacpp_runner.h"
#include "random_model.h"
#include "test_util.h"
#include "testmodel/gguf_quant.h"
#include "testmodel/gguf_writer.h"

namespace lorashare::testing {
namespace {

using nlohmann::json;

std::vector<float> Ramp() {
  std::vector<float> values(32);
  for (int j = 0; j < 32; ++j) values[j] = static_cast<float>(j - 16);
  return values;
}

TEST(GgufQuantTest, Q4_0BlockByHand) {
  // Largest magnitude: -16 at j = 0, so d = -16 / -8 = 2 and q = trunc(x / 2
  // + 8.5) clamped to 15: x = -16 -> 0, x = 0 -> 8, x = 15 -> 15 (16 clamped).
  auto bytes = GgmlEncode(GgmlType::kQ4_0, Ramp());
  ASSERT_TRUE(bytes.ok()) << bytes.error().message();
  ASSERT_EQ(bytes->size(), 18u);
  EXPECT_EQ((*bytes)[0], 0x00);  // f16 2.0 = 0x4000, little-endian
  EXPECT_EQ((*bytes)[1], 0x40);
  EXPECT_EQ((*bytes)[2], 0x80);       // j = 0 (q 0) low nibble, j = 16 (q 8) high
  EXPECT_EQ((*bytes)[3], 0x91);       // j = 1: x = -15 -> 1; j = 17: x = 1 -> 9
  EXPECT_EQ((*bytes)[2 + 15], 0xF8);  // j = 15: x = -1 -> 8; j = 31: x = 15 -> 15
  auto values = GgmlDecode(GgmlType::kQ4_0, *bytes);
  ASSERT_TRUE(values.ok());
  EXPECT_EQ((*values)[0], -16.0f);
  EXPECT_EQ((*values)[16], 0.0f);
  EXPECT_EQ((*values)[31], 14.0f);  // 15 clamps to q 15: 2 * (15 - 8)
}

TEST(GgufQuantTest, Q8_0BlockByHand) {
  // amax 16: d = 16 / 127; q = round(x * 127 / 16), halves away from zero.
  auto bytes = GgmlEncode(GgmlType::kQ8_0, Ramp());
  ASSERT_TRUE(bytes.ok()) << bytes.error().message();
  ASSERT_EQ(bytes->size(), 34u);
  EXPECT_EQ(static_cast<int8_t>((*bytes)[2]), -127);      // x = -16
  EXPECT_EQ(static_cast<int8_t>((*bytes)[2 + 16]), 0);    // x = 0
  EXPECT_EQ(static_cast<int8_t>((*bytes)[2 + 17]), 8);    // 7.9375
  EXPECT_EQ(static_cast<int8_t>((*bytes)[2 + 31]), 119);  // 119.0625
  auto values = GgmlDecode(GgmlType::kQ8_0, *bytes);
  ASSERT_TRUE(values.ok());
  const std::vector<float> ramp = Ramp();
  // Half a step, plus the f16 rounding of d times |q| <= 127.
  for (int j = 0; j < 32; ++j) EXPECT_NEAR((*values)[j], ramp[j], 16.0 / 127 * 0.57);
}

TEST(GgufQuantTest, RefusesPartialBlocks) {
  std::vector<float> values(40, 1.0f);
  auto bytes = GgmlEncode(GgmlType::kQ8_0, values);
  ASSERT_FALSE(bytes.ok());
  EXPECT_NE(bytes.error().message().find("multiple of 32"), std::string::npos);
  std::vector<uint8_t> odd(35);
  EXPECT_FALSE(GgmlDecode(GgmlType::kQ8_0, odd).ok());
}

TEST(GgufQuantTest, MakeTestModelFlag) {
  TempDir dir;
  // No --out: only the GGUF is written.
  CommandResult made = RunLorashare("make-test-model --quiet --preset tiny --gguf " +
                                    (dir / "q.gguf") + " --gguf-type q4_0");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto bytes = ReadWholeFile(dir / "q.gguf");
  ASSERT_TRUE(bytes.ok());
  // tiny: 2 layers of 7 matrices (dim 64, hidden 192) in Q4_0, the tied
  // 768 x 64 embedding in Q8_0, norms and rope_freqs f32, plus the header.
  const size_t q4 = 2 * (2 * 64 * 64 + 2 * 32 * 64 + 3 * 192 * 64) / 32 * 18;
  const size_t q8 = 768 * 64 / 32 * 34;
  EXPECT_GT(bytes->size(), q4 + q8);
  EXPECT_LT(bytes->size(), q4 + q8 + 64 * 1024);
  EXPECT_FALSE(std::filesystem::exists(dir / "config.json"));

  CommandResult bad = RunLorashare("make-test-model --preset tiny --gguf " + (dir / "x.gguf") +
                                   " --gguf-type q5_0");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--gguf-type"), std::string::npos) << bad.output;
}

struct QuantCase {
  Architecture arch;  // kLlama: untied embeddings; kQwen3: tied
  GgmlType type;
};

class GgufQuantFileTest : public ::testing::TestWithParam<QuantCase> {};

TEST_P(GgufQuantFileTest, GgufPyReadsAndRequantizesTheSameBlocks) {
  if (!HaveGgufPy()) GTEST_SKIP() << "third_party/llama.cpp-src missing: run scripts/setup.sh";
  const QuantCase c = GetParam();
  TempDir dir;
  RandomModel model = MakeRandomModel(c.arch, 31);
  ASSERT_TRUE(WriteModelGguf(dir / "f32.gguf", model.config, model.tokenizer, model.tensors).ok());
  Status status = WriteModelGguf(dir / "q.gguf", model.config, model.tokenizer, model.tensors,
                                 {.matrix_type = c.type});
  ASSERT_TRUE(status.ok()) << status.error().message();
  const json dump = DumpGguf(dir, dir / "q.gguf", "--requantize " + (dir / "f32.gguf"));
  ASSERT_TRUE(dump.is_object());
  EXPECT_EQ(dump["fields"]["general.file_type"], c.type == GgmlType::kQ4_0 ? 2 : 7);

  const std::string name = c.type == GgmlType::kQ4_0 ? "Q4_0" : "Q8_0";
  const bool tied = model.config.tied_embeddings;
  ASSERT_EQ(tied, c.arch == Architecture::kQwen3);
  int quantized = 0;
  for (const TensorRef& tensor : model.tensors) {
    std::string gguf_name = tensor.name;
    if (tensor.name == "tok_embeddings.weight") gguf_name = "token_embd.weight";
    if (tensor.name == "norm.weight") gguf_name = "output_norm.weight";
    if (tensor.name.starts_with("layers.")) {
      // Only the layer matrices: the dump's names follow the writer's table.
      static const std::pair<std::string, std::string> kRenames[] = {
          {"attention.wq", "attn_q"},      {"attention.wk", "attn_k"},
          {"attention.wv", "attn_v"},      {"attention.wo", "attn_output"},
          {"feed_forward.w1", "ffn_gate"}, {"feed_forward.w2", "ffn_down"},
          {"feed_forward.w3", "ffn_up"}};
      const size_t dot = tensor.name.find('.', 7);
      const std::string rest = tensor.name.substr(dot + 1, tensor.name.size() - dot - 8);
      gguf_name.clear();
      for (const auto& [from, to] : kRenames) {
        if (rest == from)
          gguf_name = "blk." + tensor.name.substr(7, dot - 7) + "." + to + ".weight";
      }
      if (gguf_name.empty()) continue;  // norms: f32, covered by gguf_writer_test
    }
    SCOPED_TRACE(gguf_name);
    const json* dumped = FindTensor(dump, gguf_name);
    ASSERT_NE(dumped, nullptr);
    if (tensor.shape.size() == 1) {
      EXPECT_EQ((*dumped)["type"], "F32");
      continue;
    }
    const bool output_layer =
        gguf_name == "output.weight" || (tied && gguf_name == "token_embd.weight");
    const GgmlType expected_type =
        output_layer && c.type == GgmlType::kQ4_0 ? GgmlType::kQ8_0 : c.type;
    EXPECT_EQ((*dumped)["type"], expected_type == GgmlType::kQ4_0 ? "Q4_0" : "Q8_0");
    EXPECT_EQ((*dumped)["requantized_equal"], true) << "gguf-py quantizes the f32 file differently";
    ++quantized;

    // gguf-py's dequantization (rows put back in Hugging Face order) equals
    // ours of our blocks of the unpermuted rows: blocks stay within a row.
    const std::vector<float> source = AsFloats(tensor);
    auto bytes = GgmlEncode(expected_type, source);
    ASSERT_TRUE(bytes.ok());
    auto decoded = GgmlDecode(expected_type, *bytes);
    ASSERT_TRUE(decoded.ok());
    const auto data = (*dumped)["data"].get<std::vector<float>>();
    ASSERT_EQ(data.size(), source.size());
    for (size_t i = 0; i < data.size(); ++i) {
      ASSERT_EQ(data[i], (*decoded)[i]) << "element " << i;
    }
    // And it is close to the source: Q8_0 within half a step d = amax / 127,
    // Q4_0 within a full step d = amax / 8 (its top value clamps to 7 steps
    // instead of 8), each plus the f16 rounding of d times the largest |q|.
    for (size_t block = 0; block < source.size() / 32; ++block) {
      float amax = 0;
      for (size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(source[block * 32 + j]));
      const float bound = expected_type == GgmlType::kQ4_0 ? amax / 8 * 1.005f : amax / 127 * 0.57f;
      for (size_t j = 0; j < 32; ++j) {
        const size_t i = block * 32 + j;
        ASSERT_LE(std::fabs(data[i] - source[i]), bound) << "element " << i;
      }
    }
  }
  EXPECT_GE(quantized, 15);
}

// The model's matrices replaced by their values after a round trip through
// the blocks the GGUF of `type` stores them in (the output layer 8-bit beside
// 4-bit weights, as gguf_writer.h says).
std::vector<TensorRef> RoundTripped(const RandomModel& model, GgmlType type) {
  std::vector<TensorRef> tensors;
  for (const TensorRef& tensor : model.tensors) {
    tensors.push_back(tensor);
    if (tensor.shape.size() != 2) continue;
    const bool output_layer =
        tensor.name == "output.weight" ||
        (model.config.tied_embeddings && tensor.name == "tok_embeddings.weight");
    const GgmlType stored = output_layer && type == GgmlType::kQ4_0 ? GgmlType::kQ8_0 : type;
    auto values = GgmlDecode(stored, GgmlEncode(stored, AsFloats(tensor)).value()).value();
    auto owned = std::make_shared<std::vector<float>>(std::move(values));
    tensors.back().bytes = {reinterpret_cast<const uint8_t*>(owned->data()),
                            owned->size() * sizeof(float)};
    tensors.back().keep_alive = owned;
  }
  return tensors;
}

struct Agreement {
  double worst = 0;  // max |log p difference| over the reference's top tokens
  int same_top1 = 0;
};

// Compares a teacher-forced run with the run whose tokens it was forced on.
Agreement Compare(const LlamaCppRun& reference, const LlamaCppRun& forced) {
  Agreement agreement;
  for (size_t step = 0; step < reference.top.size(); ++step) {
    agreement.same_top1 += forced.tokens[step] == reference.tokens[step] ? 1 : 0;
    for (const auto& [id, log_prob] : reference.top[step]) {
      for (const auto& [forced_id, forced_log_prob] : forced.top[step]) {
        if (forced_id == id) {
          agreement.worst = std::max(agreement.worst, std::fabs(forced_log_prob - log_prob));
        }
      }
    }
  }
  return agreement;
}

// llama.cpp runs greedily on the f32 file, then on the quantized file and on
// an f32 file of the round-tripped weights, both teacher-forced on the f32
// run's tokens. Two checks:
// - against the f32 file, the quantization error: llama.cpp keeps the f32
//   run's top-1 choice at most steps and its top log-probabilities within a
//   bound set from measurements on these small models (dim 64, whose logits
//   span tens of units, so 1% relative error moves a log p by 0.3): Q8_0
//   measured <= 0.45 and 24/24 agreement, Q4_0 <= 3.6 and >= 15/24;
// - against the round-tripped file, what is left is llama.cpp's own 8-bit
//   quantization of activations for quantized dot products: measured <= 0.39
//   (Q8_0) and <= 0.34 (Q4_0), 24/24 top-1. A wrong nibble order, scale sign or block
//   layout makes llama.cpp read other weights than the round-tripped ones,
//   and these errors grow to the size of the first check's Q4_0 ones.
TEST_P(GgufQuantFileTest, LlamaCppTracksTheF32File) {
  if (auto reason = LlamaCppMissingReason()) GTEST_SKIP() << *reason;
  const QuantCase c = GetParam();
  TempDir dir;
  RandomModel model = MakeRandomModel(c.arch, 1234);
  ASSERT_TRUE(WriteModelGguf(dir / "f32.gguf", model.config, model.tokenizer, model.tensors).ok());
  ASSERT_TRUE(WriteModelGguf(dir / "q.gguf", model.config, model.tokenizer, model.tensors,
                             {.matrix_type = c.type})
                  .ok());
  ASSERT_TRUE(WriteModelGguf(dir / "round_trip.gguf", model.config, model.tokenizer,
                             RoundTripped(model, c.type))
                  .ok());
  const std::vector<int> prompt = {1, 17, 42, 99, 256, 3, 77, 150};
  constexpr int kSteps = 24;
  std::optional<LlamaCppRun> f32 = RunLlamaCpp(dir / "f32.gguf", "", prompt, kSteps);
  ASSERT_TRUE(f32);
  const std::vector<int> forced = f32->tokens;
  std::optional<LlamaCppRun> quant = RunLlamaCpp(dir / "q.gguf", "", prompt, kSteps, forced);
  std::optional<LlamaCppRun> round_trip =
      RunLlamaCpp(dir / "round_trip.gguf", "", prompt, kSteps, forced);
  ASSERT_TRUE(quant && round_trip);
  ASSERT_EQ(quant->top.size(), f32->top.size());
  ASSERT_EQ(round_trip->top.size(), f32->top.size());

  const bool q4 = c.type == GgmlType::kQ4_0;
  const Agreement vs_f32 = Compare(*f32, *quant);
  const Agreement vs_round_trip = Compare(*round_trip, *quant);
  std::printf("%s %s: vs f32: max |log p error| %.3g, top-1 %d/%d; vs round trip: %.3g, %d/%d\n",
              std::string(ArchitectureName(c.arch)).c_str(),
              std::string(GgmlTypeName(c.type)).c_str(), vs_f32.worst, vs_f32.same_top1, kSteps,
              vs_round_trip.worst, vs_round_trip.same_top1, kSteps);
  EXPECT_GT(vs_f32.worst, 0.0) << "the quantized file should not compute exactly the f32 logits";
  EXPECT_LE(vs_f32.worst, q4 ? 5.0 : 0.7);
  EXPECT_GE(vs_f32.same_top1, q4 ? kSteps / 2 : kSteps - 1);
  EXPECT_LE(vs_round_trip.worst, q4 ? 1.0 : 0.5);
  EXPECT_GE(vs_round_trip.same_top1, kSteps - 2);
}

INSTANTIATE_TEST_SUITE_P(Types, GgufQuantFileTest,
                         ::testing::Values(QuantCase{Architecture::kLlama, GgmlType::kQ8_0},
                                           QuantCase{Architecture::kLlama, GgmlType::kQ4_0},
                                           QuantCase{Architecture::kQwen3, GgmlType::kQ8_0},
                                           QuantCase{Architecture::kQwen3, GgmlType::kQ4_0}),
                         [](const ::testing::TestParamInfo<QuantCase>& info) {
                           return std::string(ArchitectureName(info.param.arch)) + "_" +
                                  std::string(GgmlTypeName(info.param.type));
                         });

}  // namespace
}  // namespace lorashare::testing

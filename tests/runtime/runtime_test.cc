// Model / Session end to end on tiny models: logits against an independent
// numpy forward pass, LoRA against merged weights, weight sharing through the
// WeightCache, and clear errors for bad inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "format/ptd.h"
#include "runtime/data_map.h"
#include "runtime/model.h"
#include "runtime/session.h"
#include "runtime/weight_cache.h"
#include "tiny_model.h"

namespace lorashare {
namespace {

using namespace testing_tiny;  // NOLINT

class RuntimeTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lorashare_runtime_" + std::to_string(::getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes foundation + base program; returns the foundation fingerprint.
  std::string WriteBase(const TinyConfig& config, const Weights& weights,
                        const std::string& prefix = "") {
    auto fingerprint = WriteFoundation(Path(prefix + "foundation.ptd"), weights);
    EXPECT_TRUE(fingerprint.ok()) << fingerprint.error().message();
    auto status = WriteTinyProgram(Path(prefix + "base.pte"), config, weights, fingerprint.value());
    EXPECT_TRUE(status.ok()) << status.error().message();
    return fingerprint.value();
  }

  std::shared_ptr<const Model> Load(const std::string& program,
                                    const std::vector<std::string>& data,
                                    ModelOptions options = {}) {
    std::vector<std::string> paths;
    for (const auto& d : data) paths.push_back(Path(d));
    auto model = Model::Load(Path(program), paths, options);
    EXPECT_TRUE(model.ok()) << model.error().message();
    return model.ok() ? model.value() : nullptr;
  }

  // Logits of every position from the numpy reference.
  std::vector<float> Reference(const TinyConfig& config, const Weights& weights,
                               const std::vector<int32_t>& tokens) {
    const std::string ref_dir = Path("reference");
    std::filesystem::create_directories(ref_dir);
    auto status = WriteReferenceWeights(ref_dir, config, weights);
    EXPECT_TRUE(status.ok()) << status.error().message();
    std::string list;
    for (int32_t t : tokens) {
      if (!list.empty()) list += ',';
      list += std::to_string(t);
    }
    const std::string command = "/usr/bin/python3 " + std::string(LORASHARE_SOURCE_DIR) +
                                "/tests/runtime/reference_forward.py " + ref_dir + " " + list +
                                " " + Path("logits.f32");
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    std::ifstream in(Path("logits.f32"), std::ios::binary);
    std::vector<float> logits(tokens.size() * config.model.vocab_size);
    in.read(reinterpret_cast<char*>(logits.data()), logits.size() * sizeof(float));
    EXPECT_EQ(in.gcount(), static_cast<std::streamsize>(logits.size() * sizeof(float)));
    return logits;
  }

  // Prefills `prefill` tokens in one pass, then decodes the rest one by one;
  // returns the logits of positions prefill-1, prefill, ... (one row each).
  static std::vector<std::vector<float>> Run(const Model& model, const std::vector<int32_t>& tokens,
                                             size_t prefill) {
    auto session = model.NewSession(32);
    EXPECT_TRUE(session.ok());
    std::vector<std::vector<float>> rows;
    auto first = (*session)->Forward(std::span(tokens).first(prefill));
    EXPECT_TRUE(first.ok()) << first.error().message();
    rows.emplace_back(first->begin(), first->end());
    for (size_t i = prefill; i < tokens.size(); ++i) {
      auto next = (*session)->Forward(std::span(tokens).subspan(i, 1));
      EXPECT_TRUE(next.ok()) << next.error().message();
      rows.emplace_back(next->begin(), next->end());
    }
    EXPECT_EQ((*session)->position(), static_cast<int32_t>(tokens.size()));
    return rows;
  }

  // Logits agree with the numpy float64 pass within 1e-3 + 1e-3 |x|: the
  // runtime computes in f32 (weights are exact in both).
  static void ExpectMatchesReference(const std::vector<std::vector<float>>& rows,
                                     const std::vector<float>& reference, size_t prefill,
                                     int32_t vocab) {
    for (size_t r = 0; r < rows.size(); ++r) {
      const size_t position = prefill - 1 + r;
      for (int32_t i = 0; i < vocab; ++i) {
        const float want = reference[position * vocab + i];
        ASSERT_NEAR(rows[r][i], want, 1e-3f + 1e-3f * std::fabs(want))
            << "position " << position << " logit " << i;
      }
    }
  }

  void CheckAgainstNumpy(const TinyConfig& config) {
    const Weights weights = MakeWeights(config);
    WriteBase(config, weights);
    auto model = Load("base.pte", {"foundation.ptd"});
    ASSERT_NE(model, nullptr);
    const std::vector<int32_t> tokens = {1, 17, 5, 42, 9,  23, 60, 3, 11, 70,
                                         2, 33, 8, 19, 25, 50, 4,  7, 64, 30};
    const auto reference = Reference(config, weights, tokens);
    const size_t prefill = 12;
    ExpectMatchesReference(Run(*model, tokens, prefill), reference, prefill,
                           config.model.vocab_size);
    // The whole sequence in one prefill gives the last row too.
    ExpectMatchesReference(Run(*model, tokens, tokens.size()), reference, tokens.size(),
                           config.model.vocab_size);
  }

  std::filesystem::path dir_;
};

TEST_F(RuntimeTest, LlamaMatchesNumpyReference) { CheckAgainstNumpy(LlamaConfig()); }

TEST_F(RuntimeTest, Qwen3MatchesNumpyReference) { CheckAgainstNumpy(Qwen3Config()); }

TEST_F(RuntimeTest, SingleThreadAndPrivateCopiesGiveSameLogits) {
  const TinyConfig config = LlamaConfig();
  WriteBase(config, MakeWeights(config));
  auto shared = Load("base.pte", {"foundation.ptd"});
  auto single = Load("base.pte", {"foundation.ptd"}, {.share_weights = false, .threads = 1});
  ASSERT_TRUE(shared && single);
  const std::vector<int32_t> tokens = {3, 1, 4, 1, 5, 9, 2, 6};
  EXPECT_EQ(Run(*shared, tokens, 5), Run(*single, tokens, 5));
}

// The LoRA program (frozen W plus s * B (A x)) against the base program run
// on W + s * B A, merged here in double precision; A and B inline in the .pte
// or in an adapter .ptd.
TEST_F(RuntimeTest, LoraEqualsBaseOnMergedWeights) {
  for (bool in_adapter_file : {false, true}) {
    const TinyConfig config = LlamaConfig();
    const Weights weights = MakeWeights(config);
    Lora options;
    options.in_adapter_file = in_adapter_file;
    const Lora lora = MakeLora(config, weights, options);
    const std::string fingerprint = WriteBase(config, weights);
    ASSERT_TRUE(
        WriteTinyProgram(Path("lora.pte"), config, weights, fingerprint, &lora, Path("adapter.ptd"))
            .ok());
    WriteBase(config, MergeLora(weights, lora), "merged_");

    std::vector<std::string> data = {"foundation.ptd"};
    if (in_adapter_file) data.push_back("adapter.ptd");
    auto lora_model = Load("lora.pte", data);
    auto base_model = Load("base.pte", {"foundation.ptd"});
    auto merged_model = Load("merged_base.pte", {"merged_foundation.ptd"});
    ASSERT_TRUE(lora_model && base_model && merged_model);
    EXPECT_GT(lora_model->adapter_bytes(), 0u);
    EXPECT_EQ(base_model->adapter_bytes(), 0u);

    const std::vector<int32_t> tokens = {5, 8, 13, 21, 34, 55, 89, 1, 2, 3};
    const auto with_lora = Run(*lora_model, tokens, 6);
    const auto merged = Run(*merged_model, tokens, 6);
    const auto base = Run(*base_model, tokens, 6);
    double max_lora_effect = 0;
    for (size_t r = 0; r < merged.size(); ++r) {
      for (size_t i = 0; i < merged[r].size(); ++i) {
        ASSERT_NEAR(with_lora[r][i], merged[r][i], 1e-3f + 1e-3f * std::fabs(merged[r][i]));
        max_lora_effect = std::max<double>(max_lora_effect, std::fabs(base[r][i] - merged[r][i]));
      }
    }
    // The adapter changes the output, so the comparison above means something.
    EXPECT_GT(max_lora_effect, 0.05);
  }
}

TEST_F(RuntimeTest, ModelsShareFoundationWeightsThroughTheCache) {
  const TinyConfig config = LlamaConfig();
  const Weights weights = MakeWeights(config);
  const Lora lora = MakeLora(config, weights, {});
  const std::string fingerprint = WriteBase(config, weights);
  ASSERT_TRUE(WriteTinyProgram(Path("lora.pte"), config, weights, fingerprint, &lora).ok());
  const size_t entries_before = WeightCache::Global().size();
  const uint64_t copied_before = WeightCache::Global().copied_bytes();
  {
    auto base = Load("base.pte", {"foundation.ptd"});
    auto base2 = Load("base.pte", {"foundation.ptd"});
    auto with_lora = Load("lora.pte", {"foundation.ptd"});
    auto private_copy = Load("base.pte", {"foundation.ptd"}, {.share_weights = false});
    ASSERT_TRUE(base && base2 && with_lora && private_copy);
    const ProgramSpec& spec = base->spec();
    const size_t foundation_tensors = weights.size();
    EXPECT_EQ(WeightCache::Global().size(), entries_before + foundation_tensors);
    // bf16 norm weights are converted to f32 once, shared by all three models.
    EXPECT_GT(WeightCache::Global().copied_bytes(), copied_before);
    const ProgramSpec& lora_spec = with_lora->spec();
    for (size_t t = 0; t < spec.tensors.size(); ++t) {
      const int32_t index = static_cast<int32_t>(t);
      const void* data = base->WeightData(index);
      ASSERT_NE(data, nullptr) << spec.tensors[t].name;
      EXPECT_EQ(base2->WeightData(index), data) << spec.tensors[t].name;
      EXPECT_NE(private_copy->WeightData(index), data) << spec.tensors[t].name;
      int32_t in_lora = 0;
      while (lora_spec.tensors[in_lora].key != spec.tensors[t].key) ++in_lora;
      EXPECT_EQ(with_lora->WeightData(in_lora), data) << spec.tensors[t].name;
    }
    // Both programs run at the same time on the shared weights.
    auto s1 = base->NewSession(16);
    auto s2 = with_lora->NewSession(16);
    ASSERT_TRUE(s1.ok() && s2.ok());
    const std::vector<int32_t> tokens = {4, 5, 6};
    auto l1 = (*s1)->Forward(tokens);
    auto l2 = (*s2)->Forward(tokens);
    ASSERT_TRUE(l1.ok() && l2.ok());
    EXPECT_NE(std::vector<float>(l1->begin(), l1->end()),
              std::vector<float>(l2->begin(), l2->end()));
  }
  EXPECT_EQ(WeightCache::Global().size(), entries_before);
  EXPECT_EQ(WeightCache::Global().copied_bytes(), copied_before);
}

TEST_F(RuntimeTest, MissingOrWrongDataFileIsRefused) {
  const TinyConfig config = LlamaConfig();
  const std::string fingerprint = WriteBase(config, MakeWeights(config));
  // Same names but other shapes: another head, so another fingerprint.
  const TinyConfig other = Qwen3Config();
  const std::string other_fingerprint = WriteBase(other, MakeWeights(other), "other_");

  auto missing = Model::Load(Path("base.pte"), {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find(Path("base.pte")), std::string::npos);
  EXPECT_NE(missing.error().message().find("foundation.ptd"), std::string::npos);
  EXPECT_NE(missing.error().message().find(fingerprint), std::string::npos);

  auto wrong = Model::Load(Path("base.pte"), {Path("other_foundation.ptd")});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message().find(fingerprint), std::string::npos);
  EXPECT_NE(wrong.error().message().find(other_fingerprint), std::string::npos);
  EXPECT_NE(wrong.error().message().find(Path("other_foundation.ptd")), std::string::npos);

  auto extra =
      Model::Load(Path("base.pte"), {Path("foundation.ptd"), Path("other_foundation.ptd")});
  ASSERT_FALSE(extra.ok());
  EXPECT_NE(extra.error().message().find(other_fingerprint), std::string::npos);

  auto absent = Model::Load(Path("base.pte"), {Path("no_such.ptd")});
  ASSERT_FALSE(absent.ok());
  EXPECT_NE(absent.error().message().find("no_such.ptd"), std::string::npos);
}

TEST_F(RuntimeTest, DataFilesDisagreeingOnAKeyAreRefused) {
  Weights a, b, c;
  a["shared"] = {DType::kF32, {2}, {1.0f, 2.0f}};
  b["shared"] = {DType::kF32, {2}, {1.0f, 3.0f}};
  c["shared"] = a["shared"];
  c["extra"] = {DType::kF32, {1}, {4.0f}};
  for (auto [name, weights] : {std::pair{"a.ptd", &a}, {"b.ptd", &b}, {"c.ptd", &c}}) {
    ASSERT_TRUE(WriteFoundation(Path(name), *weights).ok());
  }
  auto open = [&](const char* name) { return PtdFile::Open(Path(name)).value(); };
  DataMap agree;
  ASSERT_TRUE(agree.Add(open("a.ptd")).ok());
  ASSERT_TRUE(agree.Add(open("c.ptd")).ok());
  EXPECT_NE(agree.Find("extra").file, nullptr);
  EXPECT_EQ(agree.Find("missing").file, nullptr);

  DataMap conflict;
  ASSERT_TRUE(conflict.Add(open("a.ptd")).ok());
  auto status = conflict.Add(open("b.ptd"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::kMismatch);
  EXPECT_NE(status.error().message().find(Path("a.ptd")), std::string::npos);
  EXPECT_NE(status.error().message().find(Path("b.ptd")), std::string::npos);
  EXPECT_NE(status.error().message().find("'shared'"), std::string::npos);
}

TEST_F(RuntimeTest, DataFileLayoutMustMatchTheProgram) {
  const TinyConfig config = LlamaConfig();
  Weights weights = MakeWeights(config);
  const std::string fingerprint = WriteBase(config, weights);
  // Same bytes, but the file says the norm is [2, n/2]: a different tensor.
  ProgramSpec spec = BuildSpec(config, weights, fingerprint);
  for (TensorSpec& tensor : spec.tensors) {
    if (tensor.name == "norm") tensor.shape = {2, config.model.dim / 2};
  }
  ASSERT_TRUE(WriteProgram(Path("bad.pte"), spec, {}).ok());
  auto model = Model::Load(Path("bad.pte"), {Path("foundation.ptd")});
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.error().message().find("norm"), std::string::npos) << model.error().message();
}

TEST_F(RuntimeTest, BadForwardInputsGiveClearErrors) {
  const TinyConfig config = LlamaConfig();
  WriteBase(config, MakeWeights(config));
  auto model = Load("base.pte", {"foundation.ptd"});
  ASSERT_NE(model, nullptr);
  EXPECT_FALSE(model->NewSession(0).ok());
  EXPECT_EQ(model->NewSession(config.model.max_context + 1).error().code(), ErrorCode::kOutOfRange);
  auto session = model->NewSession(4);
  ASSERT_TRUE(session.ok());
  EXPECT_EQ((*session)->Forward({}).error().code(), ErrorCode::kInvalidArgument);
  const std::vector<int32_t> bad_id = {1, config.model.vocab_size};
  auto result = (*session)->Forward(bad_id);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(result.error().message().find(std::to_string(config.model.vocab_size)),
            std::string::npos);
  EXPECT_EQ((*session)->Forward(std::vector<int32_t>{-1}).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ((*session)->position(), 0);
  ASSERT_TRUE((*session)->Forward(std::vector<int32_t>{1, 2, 3}).ok());
  auto past = (*session)->Forward(std::vector<int32_t>{4, 5});
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code(), ErrorCode::kOutOfRange);
  EXPECT_TRUE((*session)->Forward(std::vector<int32_t>{4}).ok());
  (*session)->Reset();
  EXPECT_EQ((*session)->position(), 0);
  EXPECT_TRUE((*session)->Forward(std::vector<int32_t>{1, 2, 3, 4}).ok());
  EXPECT_EQ(model->KvCacheBytes(10),
            2u * config.model.n_layers * config.model.n_kv_heads * config.model.head_dim * 10 * 4);
}

}  // namespace
}  // namespace lorashare

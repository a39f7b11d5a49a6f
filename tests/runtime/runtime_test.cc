// Model / Session end to end on tiny models: logits against an independent
// numpy forward pass, LoRA against merged weights, weight sharing through the
// WeightCache, quantized (packed) programs, the f16 KV cache, and clear
// errors for bad inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "format/ptd.h"
#include "runtime/data_map.h"
#include "runtime/model.h"
#include "runtime/plan.h"
#include "runtime/session.h"
#include "runtime/step_profile.h"
#include "runtime/weight_cache.h"
#include "tiny_model.h"

namespace lorashare {
namespace {

using namespace testing_tiny;  // NOLINT
using testing_tiny::Lora;

class RuntimeTest : public ::testing::Test {
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
                                "/tests/reference_forward.py " + ref_dir + " --prompt " + list +
                                " --logits " + Path("logits.f32");
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

  // The base program's logits over a fixed token sequence (its first
  // kKvPrefill tokens as one prefill) with an f32 KV cache, checked against
  // the numpy pass, and with a `kv_type` one; each model's KvCacheBytes(10).
  static constexpr size_t kKvPrefill = 6;
  struct KvCacheRuns {
    std::vector<std::vector<float>> f32, other;
    std::vector<float> reference;
    uint64_t f32_bytes = 0, other_bytes = 0;
  };
  KvCacheRuns RunKvCaches(DType kv_type, const TinyConfig& config) {
    const Weights weights = MakeWeights(config);
    WriteBase(config, weights);
    auto f32 = Load("base.pte", {"foundation.ptd"});
    auto other = Load("base.pte", {"foundation.ptd"}, {.kv_type = kv_type});
    KvCacheRuns runs;
    EXPECT_TRUE(f32 && other);
    if (!f32 || !other) return runs;
    const std::vector<int32_t> tokens = {1, 17, 5, 42, 9, 23, 60, 3, 11, 70, 2, 33, 8, 19};
    runs.reference = Reference(config, weights, tokens);
    runs.f32 = Run(*f32, tokens, kKvPrefill);
    runs.other = Run(*other, tokens, kKvPrefill);
    ExpectMatchesReference(runs.f32, runs.reference, kKvPrefill, config.model.vocab_size);
    runs.f32_bytes = f32->KvCacheBytes(10);
    runs.other_bytes = other->KvCacheBytes(10);
    return runs;
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
// or in an adapter .ptd. q and v read the same input, so their A products run
// in one pass (A matrices of one dtype, or of two: bf16 and f32).
TEST_F(RuntimeTest, LoraEqualsBaseOnMergedWeights) {
  for (int variant = 0; variant < 3; ++variant) {
    const bool in_adapter_file = variant > 0;
    const TinyConfig config = LlamaConfig();
    const Weights weights = MakeWeights(config);
    Lora options;
    options.in_adapter_file = in_adapter_file;
    Lora lora = MakeLora(config, weights, options);
    if (variant == 2) lora.tensors.at("layers.1.wv.lora_a").dtype = DType::kF32;
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
    uint64_t lora_bytes = 0;
    for (const auto& [name, t] : lora.tensors) lora_bytes += t.Bytes().size();
    EXPECT_EQ(lora_model->adapter_bytes(), lora_bytes);
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

// Per layer: q and v (one input) form a group; w2 is alone.
TEST_F(RuntimeTest, LoraOnOneInputIsGrouped) {
  const TinyConfig config = LlamaConfig();
  const Weights weights = MakeWeights(config);
  const Lora lora = MakeLora(config, weights, {});
  std::vector<std::vector<uint8_t>> segments;
  const ProgramSpec spec = BuildSpec(config, weights, "f", &lora, "", &segments);
  auto plan = BuildPlan(spec, "tiny");
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  std::vector<std::vector<std::string>> groups;
  for (const LoraGroup& group : plan->lora_groups) {
    groups.emplace_back();
    for (int32_t i : group.instructions) {
      const TensorSpec& a = spec.tensors[spec.instructions[i].tensors[0]];
      groups.back().push_back(a.name);
    }
    EXPECT_EQ(group.rank, lora.rank * static_cast<int64_t>(group.instructions.size()));
  }
  const std::vector<std::vector<std::string>> want = {{"layers.0.wq.lora_a", "layers.0.wv.lora_a"},
                                                      {"layers.0.w2.lora_a"},
                                                      {"layers.1.wq.lora_a", "layers.1.wv.lora_a"},
                                                      {"layers.1.w2.lora_a"}};
  EXPECT_EQ(groups, want);
  EXPECT_EQ(plan->max_lora_rank, 2 * lora.rank);
}

// Profiling times every step once per pass and groups them by kind: the
// kinds together hold every instruction and every weight byte of a pass,
// steps run with another (q/k/v, folded LoRAs) count with it, and the
// logits are those of an unprofiled session.
TEST_F(RuntimeTest, ProfileCountsEveryStepOncePerPass) {
  const TinyConfig config = LlamaConfig();
  const Weights weights = MakeWeights(config);
  const Lora lora = MakeLora(config, weights, {});
  const std::string fingerprint = WriteBase(config, weights);
  ASSERT_TRUE(WriteTinyProgram(Path("lora.pte"), config, weights, fingerprint, &lora).ok());
  auto model = Load("lora.pte", {"foundation.ptd"});
  ASSERT_TRUE(model);
  const ProgramSpec& spec = model->spec();
  auto session = model->NewSession(16);
  ASSERT_TRUE(session.ok());
  Session& s = **session;
  const std::vector<int32_t> tokens = {5, 8, 13, 21, 34};

  EXPECT_TRUE(s.Profile().kinds.empty());  // off by default
  s.SetProfiling(true);
  EXPECT_EQ(s.Profile().passes, 0);
  std::vector<std::vector<float>> profiled;
  for (size_t i = 0; i < tokens.size(); i += i == 0 ? 3 : 1) {
    auto logits = s.Forward(std::span(tokens).subspan(i, i == 0 ? 3 : 1));
    ASSERT_TRUE(logits.ok());
    profiled.emplace_back(logits->begin(), logits->end());
  }
  EXPECT_EQ(profiled, Run(*model, tokens, 3));

  const StepProfile profile = s.Profile();
  EXPECT_EQ(profile.passes, 3);
  int32_t instructions = 0;
  uint64_t bytes = 0, want_bytes = 0;
  double seconds = 0;
  std::set<std::string> names;
  for (const StepProfile::Kind& kind : profile.kinds) {
    instructions += kind.instructions;
    bytes += kind.weight_bytes;
    EXPECT_GE(kind.seconds, 0) << kind.name;
    seconds += kind.seconds;
    EXPECT_TRUE(names.insert(kind.name).second) << kind.name << " twice";
  }
  for (const InstructionSpec& ins : spec.instructions) want_bytes += DecodeWeightBytes(spec, ins);
  EXPECT_EQ(instructions, static_cast<int32_t>(spec.instructions.size()));
  EXPECT_EQ(bytes, want_bytes);
  EXPECT_GT(seconds, 0);
  EXPECT_DOUBLE_EQ(profile.seconds(), seconds);
  // The adapter targets wq, wv (grouped with wk) and w2 (tiny_model.h).
  for (const char* name :
       {"embedding tok_embeddings", "rms_norm attention_norm", "linear wq+wk+wv +lora", "attention",
        "linear wo", "linear w1+w3", "swiglu", "linear w2 +lora", "linear tok_embeddings"}) {
    EXPECT_TRUE(names.count(name)) << name << " missing";
  }
  const auto by_name = [&](const std::string& name) {
    for (const StepProfile::Kind& kind : profile.kinds) {
      if (kind.name == name) return kind;
    }
    return StepProfile::Kind{};
  };
  // q, k, v and the LoRA of q and v, in each layer.
  EXPECT_EQ(by_name("linear wq+wk+wv +lora").instructions, 5 * config.model.n_layers);

  s.SetProfiling(false);
  EXPECT_TRUE(s.Profile().kinds.empty());
  s.SetProfiling(true);
  EXPECT_EQ(s.Profile().passes, 0);
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
  // A session's cache holds whole key blocks of 64 positions: 10 tokens take 64.
  EXPECT_EQ(model->KvCacheBytes(10),
            2u * config.model.n_layers * config.model.n_kv_heads * config.model.head_dim * 64 * 4);
  EXPECT_EQ(model->KvCacheBytes(65),
            2u * config.model.n_layers * config.model.n_kv_heads * config.model.head_dim * 128 * 4);
}

// The path of the file mapped at `address` in this process ("" if none).
std::string MappedPathOf(const void* address) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const auto at = reinterpret_cast<uintptr_t>(address);
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset, device, inode, path;
    fields >> range >> perms >> offset >> device >> inode >> path;
    const size_t dash = range.find('-');
    const uintptr_t begin = std::stoull(range.substr(0, dash), nullptr, 16);
    const uintptr_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (at >= begin && at < end) return path;
  }
  return "";
}

struct QuantScheme {
  const char* name;
  WeightLayout linear;
  int64_t group_size;
  WeightLayout embedding;
};
// 8da4w (int4 groups of 32, the tied table 8-bit per row) and int8.
constexpr QuantScheme k8da4w{"8da4w", WeightLayout::kQ4Group, 32, WeightLayout::kQ8Row};
constexpr QuantScheme kInt8{"int8", WeightLayout::kQ8Row, 0, WeightLayout::kQ8Row};

Weights QuantizedWeights(const TinyConfig& config, const QuantScheme& scheme) {
  return Quantize(MakeWeights(config), scheme.linear, scheme.group_size, scheme.embedding);
}

// Packed programs against the numpy pass over the dequantized weights: the
// only difference left is the per-token int8 quantization of activations
// before each matmul. Its rounding error is at most half a step, max|x| / 254,
// per element, about 0.2% of the activations' range; through two layers and
// the output layer it moves logits by about 1% of their range (measured:
// mean 0.3%, max 1.3%). A wrong layout, scale or tied-table binding moves
// them by a good part of their range.
TEST_F(RuntimeTest, QuantizedProgramsMatchDequantizedReference) {
  for (const TinyConfig& config : {LlamaConfig(), Qwen3Config()}) {
    for (const QuantScheme& scheme : {k8da4w, kInt8}) {
      SCOPED_TRACE(std::string(scheme.name) + (config.model.qk_norm ? " qwen3" : " llama"));
      const Weights weights = QuantizedWeights(config, scheme);
      WriteBase(config, weights);
      auto model = Load("base.pte", {"foundation.ptd"});
      ASSERT_NE(model, nullptr);
      const std::vector<int32_t> tokens = {1, 17, 5, 42, 9, 23, 60, 3, 11, 70, 2, 33, 8, 19};
      const auto reference = Reference(config, Dequantize(weights), tokens);
      const size_t prefill = 8;
      const auto rows = Run(*model, tokens, prefill);
      const int32_t vocab = config.model.vocab_size;
      double sum_error = 0, max_error = 0, max_logit = 0;
      int top1_agree = 0;
      for (size_t r = 0; r < rows.size(); ++r) {
        const float* want = &reference[(prefill - 1 + r) * vocab];
        for (int32_t i = 0; i < vocab; ++i) {
          const double error = std::fabs(rows[r][i] - want[i]);
          sum_error += error;
          max_error = std::max(max_error, error);
          max_logit = std::max(max_logit, std::fabs(static_cast<double>(want[i])));
        }
        top1_agree += std::max_element(rows[r].begin(), rows[r].end()) - rows[r].begin() ==
                      std::max_element(want, want + vocab) - want;
      }
      const double mean_error = sum_error / (rows.size() * vocab);
      std::printf(
          "%s %s: logits vs dequantized f32: mean |error| %.5f, max %.5f (max |logit| "
          "%.2f), top-1 agreement %d/%zu\n",
          scheme.name, config.model.qk_norm ? "qwen3" : "llama", mean_error, max_error, max_logit,
          top1_agree, rows.size());
      EXPECT_LT(mean_error, 0.01 * max_logit);
      EXPECT_LT(max_error, 0.05 * max_logit);
      EXPECT_GE(top1_agree, static_cast<int>(rows.size()) - 1);
    }
  }
}

// Greedy decoding of `steps` tokens after `prompt`.
std::vector<int32_t> GreedyTokens(const Model& model, std::vector<int32_t> prompt, int steps) {
  auto session = model.NewSession(static_cast<int32_t>(prompt.size()) + steps);
  EXPECT_TRUE(session.ok());
  std::vector<int32_t> generated;
  std::vector<int32_t> input = std::move(prompt);
  for (int s = 0; s < steps; ++s) {
    auto logits = (*session)->Forward(input);
    EXPECT_TRUE(logits.ok()) << logits.error().message();
    if (!logits.ok()) break;
    const int32_t next =
        static_cast<int32_t>(std::max_element(logits->begin(), logits->end()) - logits->begin());
    generated.push_back(next);
    input = {next};
  }
  return generated;
}

// The quality bar: int8 weights keep greedy tokens identical to f32.
TEST_F(RuntimeTest, Int8GreedyTokensEqualF32) {
  TinyConfig config = LlamaConfig();
  config.linear_dtype = DType::kF32;
  config.embed_dtype = DType::kF32;
  const Weights weights = MakeWeights(config);
  WriteBase(config, weights);
  WriteBase(config, Quantize(weights, WeightLayout::kQ8Row, 0, WeightLayout::kQ8Row), "int8_");
  auto f32 = Load("base.pte", {"foundation.ptd"});
  auto int8 = Load("int8_base.pte", {"int8_foundation.ptd"});
  ASSERT_TRUE(f32 && int8);
  std::set<int32_t> distinct;
  for (const std::vector<int32_t>& prompt :
       {std::vector<int32_t>{1, 17, 5, 42, 9}, {1, 60, 3}, {1, 88, 12, 7, 30, 51}}) {
    const auto want = GreedyTokens(*f32, prompt, 20);
    EXPECT_EQ(GreedyTokens(*int8, prompt, 20), want);
    distinct.insert(want.begin(), want.end());
  }
  // Not one token repeated: the comparison covers varied logits.
  EXPECT_GE(distinct.size(), 5u);
}

// Packed tensors are used in place: the kernels read the .ptd mapping, two
// models share those bytes, the tied table (embedding lookup and output
// layer) is one cache entry, and only the bf16 norm weights are converted.
// Without sharing every tensor is a private copy.
TEST_F(RuntimeTest, PackedWeightsAreViewsIntoTheMapping) {
  const TinyConfig config = LlamaConfig();
  const Weights weights = QuantizedWeights(config, k8da4w);
  WriteBase(config, weights);
  const size_t entries_before = WeightCache::Global().size();
  const uint64_t copied_before = WeightCache::Global().copied_bytes();
  auto first = Load("base.pte", {"foundation.ptd"});
  auto second = Load("base.pte", {"foundation.ptd"});
  auto private_copy = Load("base.pte", {"foundation.ptd"}, {.share_weights = false});
  ASSERT_TRUE(first && second && private_copy);
  EXPECT_EQ(WeightCache::Global().size(), entries_before + weights.size());
  uint64_t norm_bytes = 0;
  for (const auto& [name, t] : weights) {
    if (t.shape.size() == 1) norm_bytes += t.values.size() * sizeof(float);
  }
  EXPECT_EQ(WeightCache::Global().copied_bytes(), copied_before + norm_bytes);
  const std::string foundation = std::filesystem::canonical(Path("foundation.ptd")).string();
  const ProgramSpec& spec = first->spec();
  int packed = 0;
  for (size_t t = 0; t < spec.tensors.size(); ++t) {
    if (spec.tensors[t].layout == WeightLayout::kPlain) continue;
    ++packed;
    const int32_t index = static_cast<int32_t>(t);
    const void* data = first->WeightData(index);
    EXPECT_EQ(MappedPathOf(data), foundation) << spec.tensors[t].name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(data) % kPackedSectionAlignment, 0u);
    EXPECT_EQ(second->WeightData(index), data) << spec.tensors[t].name;
    EXPECT_NE(private_copy->WeightData(index), data) << spec.tensors[t].name;
    EXPECT_EQ(MappedPathOf(private_copy->WeightData(index)).find(".ptd"), std::string::npos);
  }
  EXPECT_EQ(packed, 1 + 7 * config.model.n_layers);
  const std::vector<int32_t> tokens = {3, 1, 4, 1, 5, 9, 2, 6};
  EXPECT_EQ(Run(*first, tokens, 5), Run(*private_copy, tokens, 5));
}

// An f16 KV cache halves the cache and stays within f16 rounding (2^-11
// relative per element) of the f32 cache; both against the numpy pass.
TEST_F(RuntimeTest, F16KvCacheMatchesF32Cache) {
  const TinyConfig config = LlamaConfig();
  const KvCacheRuns runs = RunKvCaches(DType::kF16, config);
  ASSERT_EQ(runs.other.size(), runs.f32.size());
  EXPECT_EQ(runs.other_bytes * 2, runs.f32_bytes);
  double max_difference = 0;
  for (size_t r = 0; r < runs.other.size(); ++r) {
    for (size_t i = 0; i < runs.other[r].size(); ++i) {
      const double want_logit = runs.reference[(kKvPrefill - 1 + r) * config.model.vocab_size + i];
      ASSERT_NEAR(runs.other[r][i], want_logit, 1e-2 + 1e-2 * std::fabs(want_logit));
      max_difference =
          std::max<double>(max_difference, std::fabs(runs.other[r][i] - runs.f32[r][i]));
    }
  }
  EXPECT_GT(max_difference, 0.0);  // the f16 cache really ran
  auto bad = Model::Load(Path("base.pte"), {Path("foundation.ptd")}, {.kv_type = DType::kBF16});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("bf16"), std::string::npos) << bad.error().message();
}

// An int8 KV cache takes a byte per element and an f32 scale per kv head and
// position, and stays close to the f32 cache: every kept key and value is
// within half a step (1/254 of its row's largest) of its value. Decoding from
// it takes the f32 cache's greedy token at every step.
TEST_F(RuntimeTest, Int8KvCacheStaysCloseToF32Cache) {
  const TinyConfig config = LlamaConfig();
  const KvCacheRuns runs = RunKvCaches(DType::kI8, config);
  ASSERT_EQ(runs.other.size(), runs.f32.size());
  const uint64_t elements = config.model.n_kv_heads * config.model.head_dim * 64;
  EXPECT_EQ(runs.other_bytes, 2u * config.model.n_layers *
                                  ((elements + 63) / 64 * 64 + config.model.n_kv_heads * 64 * 4));
  // Each logit within 1% of its row's largest (here 0.4% at most).
  double max_difference = 0;
  for (size_t r = 0; r < runs.other.size(); ++r) {
    const std::vector<float>& got = runs.other[r];
    const std::vector<float>& want = runs.f32[r];
    float largest = 0;
    for (float logit : want) largest = std::max(largest, std::fabs(logit));
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_LE(std::fabs(got[i] - want[i]), 0.01f * largest) << "row " << r << " logit " << i;
      max_difference = std::max<double>(max_difference, std::fabs(got[i] - want[i]));
    }
    EXPECT_EQ(std::max_element(got.begin(), got.end()) - got.begin(),
              std::max_element(want.begin(), want.end()) - want.begin())
        << "row " << r;
  }
  EXPECT_GT(max_difference, 0.0);  // the int8 cache really ran
}

// Plan validation refuses packed tensors where plain ones are read and
// packed tensors whose logical shape does not fit the instruction.
TEST_F(RuntimeTest, PackedTensorsAreValidated) {
  const TinyConfig config = LlamaConfig();
  Weights weights = QuantizedWeights(config, kInt8);
  const std::string fingerprint = WriteBase(config, weights);
  ProgramSpec spec = BuildSpec(config, weights, fingerprint);
  // The k projection reads the packed q matrix: [48, 48] where [16, 48] fits.
  auto index_of = [&](const std::string& name) {
    for (size_t t = 0; t < spec.tensors.size(); ++t) {
      if (spec.tensors[t].name == name) return static_cast<int32_t>(t);
    }
    return -1;
  };
  for (InstructionSpec& ins : spec.instructions) {
    if (ins.tensors == std::vector<int32_t>{index_of("layers.0.wk")}) {
      ins.tensors = {index_of("layers.0.wq")};
    }
  }
  ASSERT_TRUE(WriteProgram(Path("bad.pte"), spec, {}).ok());
  auto wrong_shape = Model::Load(Path("bad.pte"), {Path("foundation.ptd")});
  ASSERT_FALSE(wrong_shape.ok());
  EXPECT_NE(wrong_shape.error().message().find("'layers.0.wq' has shape [48, 48], expected [16, "
                                               "48]"),
            std::string::npos)
      << wrong_shape.error().message();

  Weights packed_norm = weights;
  Tensor& norm = packed_norm.at("norm");
  norm = {DType::kU8, {1, config.model.dim}, norm.values, WeightLayout::kQ8Row, 0};
  const std::string norm_fingerprint = WriteFoundation(Path("norm.ptd"), packed_norm).value();
  ProgramSpec norm_spec = BuildSpec(config, packed_norm, norm_fingerprint);
  ASSERT_TRUE(WriteProgram(Path("norm.pte"), norm_spec, {}).ok());
  auto refused = Model::Load(Path("norm.pte"), {Path("norm.ptd")});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("'norm' has layout q8row"), std::string::npos)
      << refused.error().message();
}

}  // namespace
}  // namespace lorashare

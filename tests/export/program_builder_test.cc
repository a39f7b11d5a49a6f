#include "export/program_builder.h"

#include <gtest/gtest.h>

#include <map>

namespace lorashare {
namespace {

ModelConfig SmallConfig(Architecture arch) {
  ModelConfig c;
  c.arch = arch;
  c.dim = 16;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = arch == Architecture::kQwen3 ? 8 : 4;
  c.hidden_dim = 32;
  c.vocab_size = 50;
  c.max_context = 64;
  c.tied_embeddings = true;
  c.qk_norm = arch == Architecture::kQwen3;
  return c;
}

// Hands out one tensor index per distinct name.
struct TensorTable {
  std::map<std::string, int32_t> index;
  Result<int32_t> operator()(const std::string& name) {
    auto [it, added] = index.emplace(name, static_cast<int32_t>(index.size()));
    return it->second;
  }
};

std::map<OpCode, int> CountOps(const ProgramSpec& spec) {
  std::map<OpCode, int> counts;
  for (const auto& ins : spec.instructions) counts[ins.op]++;
  return counts;
}

TEST(ProgramBuilderTest, LlamaLayersInOrder) {
  TensorTable table;
  ProgramSpec spec;
  ProgramBuildInput input{SmallConfig(Architecture::kLlama), std::ref(table), {}, 0.0f};
  ASSERT_TRUE(BuildInstructions(input, &spec).ok());
  auto counts = CountOps(spec);
  EXPECT_EQ(counts[OpCode::kEmbedding], 1);
  EXPECT_EQ(counts[OpCode::kAttention], 2);
  EXPECT_EQ(counts[OpCode::kLinear], 2 * 7 + 1);
  EXPECT_EQ(counts[OpCode::kRmsNorm], 2 * 2 + 1);
  EXPECT_EQ(counts[OpCode::kLora], 0);
  EXPECT_EQ(spec.instructions.front().op, OpCode::kEmbedding);
  EXPECT_EQ(spec.instructions.back().op, OpCode::kLinear);
  EXPECT_EQ(spec.values[static_cast<size_t>(spec.output_value)].width, 50);
  // Tied embeddings: the output layer reads the embedding table.
  EXPECT_EQ(spec.instructions.back().tensors, spec.instructions.front().tensors);
  // Attention of layer 1 uses KV slot 1 and the GQA head counts.
  std::vector<int64_t> last_attention;
  for (const auto& ins : spec.instructions) {
    if (ins.op == OpCode::kAttention) last_attention = ins.int_args;
  }
  EXPECT_EQ(last_attention, (std::vector<int64_t>{1, 4, 2, 4}));
}

// A tied model whose embedding is quantized so the classifier cannot read it
// keeps its output layer in a tensor of its own.
TEST(ProgramBuilderTest, TiedModelWithASeparateOutputLayerReadsOutputWeight) {
  TensorTable table;
  ProgramSpec spec;
  ProgramBuildInput input{SmallConfig(Architecture::kLlama), std::ref(table), {}, 0.0f};
  input.separate_output = true;
  ASSERT_TRUE(BuildInstructions(input, &spec).ok());
  ASSERT_TRUE(table.index.count("output.weight"));
  EXPECT_EQ(spec.instructions.back().tensors,
            std::vector<int32_t>{table.index.at("output.weight")});
  EXPECT_EQ(spec.instructions.front().tensors,
            std::vector<int32_t>{table.index.at("tok_embeddings.weight")});
}

TEST(ProgramBuilderTest, Qwen3NormalisesQueriesAndKeysPerHeadBeforeRope) {
  TensorTable table;
  ProgramSpec spec;
  ProgramBuildInput input{SmallConfig(Architecture::kQwen3), std::ref(table), {}, 0.0f};
  ASSERT_TRUE(BuildInstructions(input, &spec).ok());
  EXPECT_EQ(CountOps(spec)[OpCode::kRmsNorm], 2 * 4 + 1);
  for (size_t i = 0; i < spec.instructions.size(); ++i) {
    const auto& ins = spec.instructions[i];
    if (ins.op != OpCode::kRope) continue;
    const auto& previous = spec.instructions[i - 1];
    if (ins.int_args[0] == 4) {  // queries: the q norm comes two instructions earlier
      EXPECT_EQ(spec.instructions[i - 2].op, OpCode::kRmsNorm);
      EXPECT_EQ(spec.instructions[i - 2].int_args[0], 8);  // grouped by head_dim
    } else {
      EXPECT_EQ(previous.op, OpCode::kRope);
    }
  }
  EXPECT_TRUE(table.index.count("layers.1.attention.k_norm.weight"));
}

TEST(ProgramBuilderTest, LoraFollowsEachAdaptedProjectionAndReadsItsInput) {
  TensorTable table;
  ProgramSpec spec;
  ProgramBuildInput input{SmallConfig(Architecture::kLlama), std::ref(table), {}, 2.0f};
  input.lora["layers.0.attention.wq"] = {100, 101};
  input.lora["layers.1.attention.wo"] = {102, 103};
  ASSERT_TRUE(BuildInstructions(input, &spec).ok());
  int loras = 0;
  for (size_t i = 0; i < spec.instructions.size(); ++i) {
    const auto& ins = spec.instructions[i];
    if (ins.op != OpCode::kLora) continue;
    ++loras;
    const auto& linear = spec.instructions[i - 1];
    ASSERT_EQ(linear.op, OpCode::kLinear);
    EXPECT_EQ(ins.inputs, (std::vector<int32_t>{linear.inputs[0], linear.outputs[0]}));
    EXPECT_EQ(ins.outputs, linear.outputs);
    EXPECT_EQ(ins.float_args, std::vector<float>{2.0f});
  }
  EXPECT_EQ(loras, 2);
}

TEST(ProgramBuilderTest, MissingTensorIsReported) {
  ProgramSpec spec;
  ProgramBuildInput input{SmallConfig(Architecture::kLlama),
                          [](const std::string& name) -> Result<int32_t> {
                            if (name == "layers.1.feed_forward.w2.weight") {
                              return MakeError(ErrorCode::kNotFound, "no tensor {}", name);
                            }
                            return 0;
                          },
                          {},
                          0.0f};
  auto status = BuildInstructions(input, &spec);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("layers.1.feed_forward.w2.weight"), std::string::npos);
}

}  // namespace
}  // namespace lorashare

#include "testmodel/synthetic_weights.h"

#include <cmath>
#include <cstring>
#include <string_view>

#include "base/sha256.h"
#include "import/checkpoint_layout.h"
#include "kernels/half.h"
#include "testmodel/hf_names.h"

namespace lorashare {
namespace {

// The spread of the output logits (in units of the logit); large enough that
// the top token leads the runner-up by a clear margin.
constexpr float kLogitSpread = 8.0f;
// Root-mean-square of a projection's output for a unit-RMS input.
constexpr float kProjectionGain = 0.5f;
// Root-mean-square of a token embedding. Small against the layers' outputs,
// so that with tied embeddings the last hidden state is not dominated by the
// input token's own embedding (which would make every model repeat its input);
// the final norm's weights restore the logit spread.
constexpr float kEmbeddingRms = 0.05f;
// The adapter's contribution relative to the base projection's output.
constexpr float kAdapterShare = 0.3f;

// splitmix64: a small, fast, well-mixed generator; enough for test weights.
class Stream {
 public:
  Stream(uint64_t seed, std::string_view name) {
    Sha256Digest digest = Sha256Of({reinterpret_cast<const uint8_t*>(name.data()), name.size()});
    std::memcpy(&state_, digest.data(), sizeof(state_));
    state_ ^= seed * 0x9e3779b97f4a7c15ull;
  }

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  // Uniform in [-1, 1).
  float NextSigned() { return static_cast<float>(Next() >> 40) * (2.0f / 16777216.0f) - 1.0f; }

 private:
  uint64_t state_ = 0;
};

// Values uniform with the given mean and standard deviation.
std::vector<float> Draw(uint64_t seed, std::string_view name, size_t count, float mean,
                        float stddev) {
  Stream stream(seed, name);
  const float half_width = stddev * std::sqrt(3.0f);
  std::vector<float> values(count);
  for (float& v : values) v = mean + half_width * stream.NextSigned();
  return values;
}

TensorRef MakeTensor(std::string name, std::vector<int64_t> shape, const std::vector<float>& values,
                     DType dtype) {
  auto storage = std::make_shared<std::vector<uint8_t>>(values.size() * DTypeSize(dtype));
  for (size_t i = 0; i < values.size(); ++i) {
    uint8_t* out = storage->data() + i * DTypeSize(dtype);
    if (dtype == DType::kF32) {
      std::memcpy(out, &values[i], 4);
    } else {
      uint16_t half = dtype == DType::kBF16 ? F32ToBF16(values[i]) : F32ToF16(values[i]);
      std::memcpy(out, &half, 2);
    }
  }
  TensorRef ref;
  ref.name = std::move(name);
  ref.dtype = dtype;
  ref.shape = std::move(shape);
  ref.bytes = *storage;
  ref.keep_alive = std::move(storage);
  return ref;
}

bool AdapterTargets(const AdapterPreset& adapter, Projection projection) {
  std::string_view name = PeftTargetName(projection);
  for (const auto& target : adapter.targets) {
    if (target == name) return true;
  }
  return false;
}

bool IsNormWeight(std::string_view name) { return name.find("norm") != std::string_view::npos; }

// Mean and standard deviation of a tensor's values: norms near 1 (the final
// norm scaled for the logit spread), embeddings small, projections with a
// fixed gain.
std::pair<float, float> MomentsFor(const ExpectedTensor& t, const ModelConfig& config) {
  const float sqrt_dim = std::sqrt(static_cast<float>(config.dim));
  if (t.name == "norm.weight") {
    const float gain = config.tied_embeddings ? kLogitSpread / (kEmbeddingRms * sqrt_dim) : 1.0f;
    return {gain, 0.05f * gain};
  }
  if (IsNormWeight(t.name)) return {1.0f, 0.05f};
  if (t.name == "tok_embeddings.weight") return {0.0f, kEmbeddingRms};
  if (t.name == "output.weight") return {0.0f, kLogitSpread / sqrt_dim};
  return {0.0f, kProjectionGain / std::sqrt(static_cast<float>(t.shape.back()))};
}

}  // namespace

std::vector<TensorRef> GenerateBaseWeights(const ModelConfig& config, uint64_t seed, DType dtype) {
  std::vector<TensorRef> tensors;
  for (const auto& t : ExpectedTensors(config)) {
    size_t count = 1;
    for (int64_t d : t.shape) count *= static_cast<size_t>(d);
    const auto [mean, stddev] = MomentsFor(t, config);
    tensors.push_back(MakeTensor(t.name, t.shape, Draw(seed, t.name, count, mean, stddev), dtype));
  }
  return tensors;
}

std::vector<LoraPair> GenerateAdapterWeights(const ModelConfig& config,
                                             const AdapterPreset& adapter, uint64_t seed) {
  const float scale = adapter.use_rslora ? adapter.alpha / std::sqrt(float(adapter.rank))
                                         : adapter.alpha / float(adapter.rank);
  // |scale * B (A x)| ~ kAdapterShare * kProjectionGain for a unit-RMS x.
  const float b_std =
      kAdapterShare * kProjectionGain / (scale * std::sqrt(static_cast<float>(adapter.rank)));
  std::vector<LoraPair> pairs;
  for (int32_t layer = 0; layer < config.n_layers; ++layer) {
    for (Projection p : kProjections) {
      if (!AdapterTargets(adapter, p)) continue;
      const LinearShape shape = ProjectionShape(config, p);
      const std::string target = ProjectionTarget(layer, p);
      const size_t a_count = static_cast<size_t>(adapter.rank * shape.in_features);
      const size_t b_count = static_cast<size_t>(shape.out_features * adapter.rank);
      const float a_std = 1.0f / std::sqrt(static_cast<float>(shape.in_features));
      pairs.push_back(
          {target,
           MakeTensor(target + ".lora_a", {adapter.rank, shape.in_features},
                      Draw(seed, target + ".lora_a", a_count, 0.0f, a_std), DType::kF32),
           MakeTensor(target + ".lora_b", {shape.out_features, adapter.rank},
                      Draw(seed, target + ".lora_b", b_count, 0.0f, b_std), DType::kF32)});
    }
  }
  return pairs;
}

}  // namespace lorashare

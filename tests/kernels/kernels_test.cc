// Every SIMD kernel against its scalar reference, on every Highway target
// this CPU supports, with sizes that are not multiples of any vector width.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>
#include <tuple>
#include <vector>

#include "kernels/attention.h"
#include "kernels/convert.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/half.h"
#include "kernels/lora.h"
#include "kernels/matmul.h"
#include "kernels/norm.h"
#include "kernels/rope.h"
#include "kernels/sampling.h"
#include "target_test_util.h"

namespace lorashare {
namespace {

// A weight matrix stored in `dtype`, row-major or kTiled, with its values
// exactly representable (the references read the same stored bytes).
struct StoredMatrix {
  DType dtype;
  int64_t rows, cols;
  WeightLayout layout;
  std::vector<uint8_t> bytes;

  StoredMatrix(DType dtype, int64_t rows, int64_t cols, uint32_t seed,
               WeightLayout layout = WeightLayout::kPlain)
      : dtype(dtype),
        rows(rows),
        cols(cols),
        layout(layout),
        bytes(rows * cols * DTypeSize(dtype)) {
    const auto values = RandomFloats(rows * cols, seed);
    for (int64_t i = 0; i < rows * cols; ++i) {
      if (dtype == DType::kF32) {
        std::memcpy(&bytes[4 * i], &values[i], 4);
      } else {
        const uint16_t h = dtype == DType::kF16 ? F32ToF16(values[i]) : F32ToBF16(values[i]);
        std::memcpy(&bytes[2 * i], &h, 2);
      }
    }
    if (layout == WeightLayout::kTiled) bytes = TileRows(bytes, rows, cols, DTypeSize(dtype));
  }
  MatrixView view() const { return {dtype, bytes.data(), rows, cols, layout}; }
  // Element i of the row-major matrix.
  float at(int64_t i) const {
    const int64_t stored =
        layout == WeightLayout::kTiled ? TiledIndex(cols, i / cols, i % cols) : i;
    float v;
    ConvertToF32Reference(dtype, bytes.data() + stored * DTypeSize(dtype), 1, &v);
    return v;
  }
};

constexpr WeightLayout kPlainLayouts[] = {WeightLayout::kPlain, WeightLayout::kTiled};

// Sum of |w x| per output: f32 accumulation error is bounded relative to it.
std::vector<float> AbsDotSums(const StoredMatrix& w, const std::vector<float>& x, int64_t n) {
  std::vector<float> sums(n * w.rows);
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t o = 0; o < w.rows; ++o) {
      double s = 0;
      for (int64_t i = 0; i < w.cols; ++i) s += std::fabs(w.at(o * w.cols + i) * x[t * w.cols + i]);
      sums[t * w.rows + o] = static_cast<float>(s);
    }
  }
  return sums;
}

using KernelTest = PerTargetTest;
using MatMulTest = PerTargetTest;

// f32 accumulation: error <= ~in * 2^-24 * sum|w x|; 1e-6 per term is generous.
float MatMulTolerance(int64_t in, float abs_dot_sum) {
  return 1e-6f * (in + 4) * abs_dot_sum + 1e-6f;
}

TEST_P(MatMulTest, AllDTypesAndLayoutsRaggedShapes) {
  ThreadPool pool(3);
  for (WeightLayout layout : kPlainLayouts) {
    for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
      for (int64_t in : {1, 7, 17, 64, 133}) {
        for (int64_t out : {1, 5, 19, 70}) {
          for (int64_t n : {1, 2, 3, 6, 37}) {
            const StoredMatrix w(dtype, out, in, static_cast<uint32_t>(in * 1000 + out), layout);
            const auto x = RandomFloats(n * in, static_cast<uint32_t>(n));
            const auto bound = AbsDotSums(w, x, n);
            for (bool accumulate : {false, true}) {
              const MatMulArgs args{.x = x.data(),
                                    .n = n,
                                    .x_stride = in,
                                    .y_stride = out,
                                    .scale = 0.75f,
                                    .accumulate = accumulate};
              const auto [got, want] = MatMulAndReference(w.view(), args, RandomFloats(n * out, 99),
                                                          n % 2 ? &pool : nullptr);
              for (size_t i = 0; i < got.size(); ++i) {
                ASSERT_NEAR(got[i], want[i], MatMulTolerance(in, bound[i]))
                    << StoredFormatName(layout, dtype, 0) << " in=" << in << " out=" << out
                    << " n=" << n;
              }
            }
          }
        }
      }
    }
  }
}

// GEMV (one token) of a random `dtype` matrix on `pool` against the
// reference, storing and accumulating; x may sit anywhere (unaligned).
void ExpectGemvMatchesReference(DType dtype, int64_t out, int64_t in, const float* x, float scale,
                                float tolerance, ThreadPool* pool,
                                WeightLayout layout = WeightLayout::kPlain) {
  const StoredMatrix w(dtype, out, in, static_cast<uint32_t>(in + out), layout);
  const auto bound = AbsDotSums(w, std::vector<float>(x, x + in), 1);
  for (bool accumulate : {false, true}) {
    const MatMulArgs args{
        .x = x, .n = 1, .x_stride = in, .y_stride = out, .scale = scale, .accumulate = accumulate};
    const auto [got, want] = MatMulAndReference(w.view(), args, RandomFloats(out, 8), pool);
    for (int64_t o = 0; o < out; ++o) {
      ASSERT_NEAR(got[o], want[o], tolerance * MatMulTolerance(in, bound[o]))
          << StoredFormatName(layout, dtype, 0) << " in=" << in << " row " << o
          << " accumulate=" << accumulate;
    }
  }
}

// Decode-sized GEMV: an odd number of rows split across threads, columns
// with a tail after the last unrolled and the last single vector, and x not
// vector-aligned.
TEST_P(MatMulTest, GemvLongRowsUnalignedX) {
  ThreadPool pool(2);
  for (DType dtype : {DType::kBF16, DType::kF16}) {
    for (int64_t in : {1000, 2048}) {
      const auto x_buffer = RandomFloats(in + 1, 7, -2, 2);
      ExpectGemvMatchesReference(dtype, 67, in, x_buffer.data() + 1, 1.5f, 1.5f, &pool);
    }
  }
}

// Prefill-sized GEMM: rows long enough to span several depth blocks (and end
// in a part-vector tail), row and token counts off every tile, and x and y
// rows strided wider than the matrix (the outputs between stay untouched).
TEST_P(MatMulTest, GemmLongRowsStrided) {
  ThreadPool pool(2);
  constexpr int64_t kIn = 1100, kOut = 37, kTokens = 37;
  constexpr int64_t kXStride = kIn + 3, kYStride = kOut + 5;
  const auto x = RandomFloats(kTokens * kXStride, 21);
  for (WeightLayout layout : kPlainLayouts) {
    for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
      const StoredMatrix w(dtype, kOut, kIn, 23, layout);
      for (bool accumulate : {false, true}) {
        const MatMulArgs args{.x = x.data(),
                              .n = kTokens,
                              .x_stride = kXStride,
                              .y_stride = kYStride,
                              .scale = 1.25f,
                              .accumulate = accumulate};
        const auto [got, want] =
            MatMulAndReference(w.view(), args, RandomFloats(kTokens * kYStride, 24), &pool);
        for (int64_t t = 0; t < kTokens; ++t) {
          for (int64_t o = 0; o < kYStride; ++o) {
            const size_t i = static_cast<size_t>(t * kYStride + o);
            ASSERT_NEAR(got[i], want[i], 2e-3f)
                << StoredFormatName(layout, dtype, 0) << " token " << t << " output " << o;
          }
        }
      }
    }
  }
}

// LoRA B shapes: rows of a few vectors, each prefetched from several rows
// (or tiles) ahead, with row ranges split across threads.
TEST_P(MatMulTest, GemvShortRows) {
  ThreadPool pool(2);
  for (WeightLayout layout : kPlainLayouts) {
    for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
      for (int64_t in : {16, 32, 64, 128, 256}) {
        const auto x = RandomFloats(in, 11, -2, 2);
        ExpectGemvMatchesReference(dtype, 517, in, x.data(), 0.5f, 1.0f, &pool, layout);
      }
    }
  }
}

LORASHARE_INSTANTIATE_PER_TARGET(MatMulTest);

TEST_P(KernelTest, ConvertAndEmbeddingMatchReference) {
  for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
    const StoredMatrix table(dtype, 11, 37, 5);
    const std::vector<int32_t> tokens = {10, 0, 3, 3, 7};
    std::vector<float> got(tokens.size() * 37), want(got.size());
    Embedding(table.view(), tokens, got.data());
    EmbeddingReference(table.view(), tokens, want.data());
    EXPECT_EQ(got, want) << DTypeName(dtype);
    for (size_t t = 0; t < tokens.size(); ++t) {
      EXPECT_EQ(got[t * 37 + 2], table.at(tokens[t] * 37 + 2));
    }
  }
  const std::vector<double> f64 = {1.5, -2.25, 1e10};
  std::vector<float> out(3);
  ConvertToF32(DType::kF64, f64.data(), 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{1.5f, -2.25f, 1e10f}));
}

TEST_P(KernelTest, RmsNormGroupedMatchesReference) {
  for (int64_t group : {1, 7, 16, 67}) {
    const int64_t n = 3, width = group * 3;
    const auto x = RandomFloats(n * width, 11, -3, 3);
    const auto weight = RandomFloats(group, 12, 0.5f, 1.5f);
    std::vector<float> got(x.size()), want(x.size());
    RmsNormArgs args{.x = x.data(),
                     .y = got.data(),
                     .n = n,
                     .width = width,
                     .group = group,
                     .weight = weight.data(),
                     .eps = 1e-6f};
    RmsNorm(args);
    args.y = want.data();
    RmsNormReference(args);
    ExpectClose(got, want, 1e-5f, 1e-6f, "rms_norm group " + std::to_string(group));
  }
}

TEST_P(KernelTest, RopeMatchesReference) {
  RopeScaling scaling{.enabled = true,
                      .factor = 32,
                      .low_freq_factor = 1,
                      .high_freq_factor = 4,
                      .original_max_position = 64};
  for (int64_t head_dim : {2, 6, 38, 128}) {
    const RopeFrequencies freqs(head_dim, 500000.0f, scaling);
    const int64_t n = 5, heads = 3;
    auto got = RandomFloats(n * heads * head_dim, 13);
    auto want = got;
    RopeArgs args{.x = got.data(), .n = n, .n_heads = heads, .start_position = 1000};
    Rope(freqs, args);
    args.x = want.data();
    RopeReference(freqs, args);
    ExpectClose(got, want, 1e-5f, 1e-5f, "rope head_dim " + std::to_string(head_dim));
  }
}

TEST_P(KernelTest, AttentionGqaCausalMatchesReference) {
  ThreadPool pool(2);
  // Contexts shorter than a vector, and long enough for every score tile;
  // query heads per kv head that take every way of computing them together
  // (groups of 4, 2 and 1: 3 = 2 + 1, 5 = 4 + 1, 8 = 4 + 4, 1), and whole
  // groups that take several tokens together (7 tokens of a group of 4: 2 +
  // 2 + 2 + 1, of 2: 4 + 2 + 1, of 1: 7 = 4 + 2 + 1, one tile spanning key
  // blocks).
  for (const auto& [start, head_dim, heads] : {std::tuple<int64_t, int64_t, int64_t>{2, 3, 6},
                                               {2, 16, 8},
                                               {9, 40, 10},
                                               {171, 64, 6},
                                               {171, 64, 16},
                                               {171, 72, 2},
                                               {60, 64, 4},
                                               {300, 16, 8},
                                               {64, 64, 10}}) {
    const int64_t n = 7, kv_heads = 2, len = start + n;
    // Large keys make raw exp() overflow: the softmax must subtract the max.
    const auto q = RandomFloats(n * heads * head_dim, 21, -4, 4);
    const auto k = RandomFloats(len * kv_heads * head_dim, 22, -40, 40);
    const auto v = RandomFloats(len * kv_heads * head_dim, 23);
    std::vector<float> got(q.size()), want(q.size());
    AttentionArgs args{.q = q.data(),
                       .out = got.data(),
                       .n = len,
                       .start_position = 0,
                       .n_heads = heads,
                       .n_kv_heads = kv_heads,
                       .head_dim = head_dim,
                       .capacity = KvCacheCapacity(len)};
    std::vector<float> k_cache(kv_heads * args.capacity * head_dim);
    std::vector<float> v_cache(k_cache.size());
    StoreKeys(k.data(), args, k_cache.data());
    StoreValues(v.data(), args, v_cache.data());
    args.k_cache = k_cache.data();
    args.v_cache = v_cache.data();
    args.n = n;
    args.start_position = start;
    Attention(args, &pool);
    args.out = want.data();
    AttentionReference(args);
    // Scores reach a few hundred: their f32 rounding (~1e-5 relative to the
    // softmax weights) shows in outputs of up to 1 at a few 1e-5.
    ExpectClose(got, want, 1e-4f, 5e-5f,
                fmt::format("attention start {} head_dim {} heads {}", start, head_dim, heads));
    for (float value : got) ASSERT_TRUE(std::isfinite(value));
  }
}

// Softmax's exponentials over [-100, 0], every 1e-4, and the edges of the
// clamp: within 3e-7 of std::exp (in double) down to -87, e^-87 below it.
TEST_P(KernelTest, SoftmaxExpMatchesStdExp) {
  std::vector<float> x = {0.0f, -0.0f, -1e-30f, -86.99f, -87.0f, -87.01f, -88.7f, -1000.0f};
  for (int i = 0; i <= 1000000; ++i) x.push_back(-1e-4f * static_cast<float>(i));
  std::vector<float> got(x.size());
  SoftmaxExp(x.data(), static_cast<int64_t>(x.size()), got.data());
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = std::exp(static_cast<double>(std::max(x[i], -87.0f)));
    ASSERT_TRUE(std::isnormal(got[i])) << "x " << x[i];
    worst = std::max(worst, std::abs(got[i] - want) / want);
  }
  EXPECT_LT(worst, 3e-7);
}

TEST_P(KernelTest, ElementwiseMatchReference) {
  for (size_t n : {1u, 13u, 100u}) {
    const auto a = RandomFloats(n, 31, -20, 20), b = RandomFloats(n, 32, -2, 2);
    std::vector<float> got(n), want(n);
    SwiGlu(a.data(), b.data(), n, got.data());
    SwiGluReference(a.data(), b.data(), n, want.data());
    ExpectClose(got, want, 1e-5f, 1e-6f, "swiglu");
    Add(a.data(), b.data(), n, got.data());
    AddReference(a.data(), b.data(), n, want.data());
    EXPECT_EQ(got, want);
  }
}

// Weights over a vocabulary-sized row and ragged ones, at several
// temperatures: each within a few ulp of std::exp's, the sum too.
TEST_P(KernelTest, ExpWeightsMatchReference) {
  for (size_t n : {1u, 3u, 17u, 128256u}) {
    const std::vector<float> logits = RandomFloats(n, static_cast<uint32_t>(n), -20, 20);
    const float max_logit = logits[ArgMaxReference(logits.data(), n)];
    for (double inverse_temperature : {0.5, 1.0, 3.0}) {
      std::vector<double> got(n), want(n);
      const double got_sum =
          ExpWeights(logits.data(), n, max_logit, inverse_temperature, got.data());
      const double want_sum =
          ExpWeightsReference(logits.data(), n, max_logit, inverse_temperature, want.data());
      for (size_t i = 0; i < n; ++i) {
        ASSERT_NEAR(got[i], want[i], 1e-14 * want[i]) << "n=" << n << " i=" << i;
      }
      EXPECT_NEAR(got_sum, want_sum, 1e-12 * want_sum) << "n=" << n;
    }
  }
}

// Vocabulary-sized and ragged rows; a tie (the first wins), NaNs (never
// the largest), -inf, and rows of only NaN or only -inf.
TEST_P(KernelTest, ArgMaxMatchesReference) {
  for (size_t n : {0u, 1u, 5u, 16u, 17u, 100u, 131u, 128256u}) {
    std::vector<float> x = RandomFloats(n, static_cast<uint32_t>(n), -30, 30);
    auto check = [&](const char* what) {
      ASSERT_EQ(ArgMax(x.data(), n), ArgMaxReference(x.data(), n)) << what << " n=" << n;
    };
    check("random");
    if (n < 2) continue;
    const size_t top = ArgMaxReference(x.data(), n);
    x[n - 1] = x[top];
    x[n / 2] = x[top];
    check("ties");
    EXPECT_EQ(ArgMax(x.data(), n), std::min({top, n / 2, n - 1}));
    x[0] = std::nanf("");
    x[n / 3] = std::nanf("");
    check("NaNs");
    x[1] = INFINITY;
    check("inf");
    EXPECT_EQ(ArgMax(x.data(), n), 1u);
    std::fill(x.begin(), x.end(), -INFINITY);
    x[n - 1] = std::nanf("");
    check("-inf");
    EXPECT_EQ(ArgMax(x.data(), n), 0u);
    std::fill(x.begin(), x.end(), std::nanf(""));
    check("all NaN");
  }
}

class LoraLayoutTest : public ::testing::TestWithParam<std::tuple<int64_t, WeightLayout>> {
 protected:
  void SetUp() override {
    hwy::SetSupportedTargetsForTest(std::get<0>(GetParam()));
    ASSERT_STREQ(KernelTargetName(), hwy::TargetName(std::get<0>(GetParam())));
  }
  void TearDown() override { hwy::SetSupportedTargetsForTest(0); }
  WeightLayout b_layout() const { return std::get<1>(GetParam()); }
};

TEST_P(LoraLayoutTest, LoraMatchesReferenceAndMergedWeights) {
  const int64_t in = 29, out = 23, rank = 5, n = 4;
  const StoredMatrix a(DType::kBF16, rank, in, 41), b(DType::kF32, out, rank, 42, b_layout());
  const auto x = RandomFloats(n * in, 43);
  const auto y0 = RandomFloats(n * out, 44);
  std::vector<float> scratch(n * rank), got = y0, want = y0;
  LoraArgs args{.x = x.data(),
                .x_stride = in,
                .y = got.data(),
                .y_stride = out,
                .n = n,
                .scale = 2.5f,
                .scratch = scratch.data()};
  Lora(a.view(), b.view(), args, nullptr);
  args.y = want.data();
  LoraReference(a.view(), b.view(), args);
  ExpectClose(got, want, 1e-5f, 1e-5f, "lora");
  // Independently: y0 + x (scale * B A)^T with the product formed first.
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t o = 0; o < out; ++o) {
      double sum = y0[t * out + o];
      for (int64_t i = 0; i < in; ++i) {
        double merged = 0;
        for (int64_t r = 0; r < rank; ++r) merged += b.at(o * rank + r) * a.at(r * in + i);
        sum += 2.5 * merged * x[t * in + i];
      }
      ASSERT_NEAR(got[t * out + o], sum, 1e-4);
    }
  }
}

// The rows_done path: a range of B's rows that starts on a tile boundary and
// ends inside a tile writes exactly its rows.
TEST_P(LoraLayoutTest, LoraUpRowsWritesOnlyItsRows) {
  const int64_t out = 40, rank = 64;
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    const StoredMatrix b(dtype, out, rank, 51, b_layout());
    auto scratch = RandomFloats(rank, 52);
    const auto y0 = RandomFloats(out, 53);
    std::vector<float> whole = y0, part = y0;
    LoraArgs args{
        .y = whole.data(), .y_stride = out, .n = 1, .scale = 0.5f, .scratch = scratch.data()};
    LoraUp(b.view(), args, nullptr);
    args.y = part.data();
    LoraUpRows(b.view(), args, 16, 20);
    for (int64_t o = 0; o < out; ++o) {
      EXPECT_EQ(part[o], o >= 16 && o < 20 ? whole[o] : y0[o]) << DTypeName(dtype) << " row " << o;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, LoraLayoutTest,
                         ::testing::Combine(::testing::ValuesIn(KernelTargets()),
                                            ::testing::ValuesIn(kPlainLayouts)),
                         [](const ::testing::TestParamInfo<LoraLayoutTest::ParamType>& info) {
                           return std::string(hwy::TargetName(std::get<0>(info.param))) + "_" +
                                  std::string(WeightLayoutBaseName(std::get<1>(info.param)));
                         });

LORASHARE_INSTANTIATE_PER_TARGET(KernelTest);

TEST(RopeFrequenciesTest, Llama3ScalingBands) {
  const RopeScaling scaling{.enabled = true,
                            .factor = 8,
                            .low_freq_factor = 1,
                            .high_freq_factor = 4,
                            .original_max_position = 8192};
  const RopeFrequencies scaled(128, 500000.0f, scaling), plain(128, 500000.0f, RopeScaling{});
  // Short wavelengths (< 8192/4) unchanged, long ones (> 8192) divided by 8.
  EXPECT_DOUBLE_EQ(scaled.inv_freq()[0], 1.0);
  EXPECT_DOUBLE_EQ(scaled.inv_freq()[63], plain.inv_freq()[63] / 8);
  for (int i = 0; i < 64; ++i) {
    EXPECT_LE(scaled.inv_freq()[i], plain.inv_freq()[i]);
    EXPECT_GE(scaled.inv_freq()[i], plain.inv_freq()[i] / 8);
  }
}

TEST(ThreadPoolTest, CoversRangeOnceInGrainAlignedChunks) {
  ThreadPool pool(4);
  for (int64_t count : {1, 5, 16, 17, 1000}) {
    std::vector<std::atomic<int>> hits(count);
    pool.ParallelFor(
        count,
        [&](int64_t begin, int64_t end) {
          EXPECT_EQ(begin % 8, 0);
          for (int64_t i = begin; i < end; ++i) hits[i]++;
        },
        8);
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
}

// A thread done with its share takes the unclaimed end of a slower one's:
// the caller's share is instant, the worker's items take a millisecond each.
TEST(ThreadPoolTest, IdleThreadTakesTheRestOfASlowShare) {
  ThreadPool pool(2);
  const int64_t count = 64;
  std::vector<std::atomic<int>> hits(count);
  std::atomic<int64_t> stolen{0};
  const std::thread::id caller = std::this_thread::get_id();
  pool.ParallelFor(
      count,
      [&](int64_t begin, int64_t end) {
        EXPECT_EQ(begin % 4, 0);
        for (int64_t i = begin; i < end; ++i) {
          hits[i]++;
          if (i < count / 2) continue;
          if (std::this_thread::get_id() == caller) {
            stolen++;
          } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
        }
      },
      4);
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  EXPECT_GT(stolen.load(), 0);
}

// Back-to-back calls (workers spinning), calls after a pause long enough for
// the workers to fall asleep, and two threads sharing one pool.
TEST(ThreadPoolTest, ManyCallsSleepsAndConcurrentCallers) {
  ThreadPool pool(2);
  const auto run_calls = [&pool](int calls, int64_t count, std::atomic<int64_t>* total) {
    for (int c = 0; c < calls; ++c) {
      std::vector<int> hits(count, 0);
      pool.ParallelFor(count, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) hits[i]++;
      });
      for (int64_t i = 0; i < count; ++i) ASSERT_EQ(hits[i], 1) << "call " << c << " item " << i;
      *total += count;
    }
  };
  std::atomic<int64_t> total = 0;
  run_calls(20000, 7, &total);
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    run_calls(1, 64, &total);
  }
  std::thread other(run_calls, 3000, 33, &total);
  run_calls(3000, 10, &total);
  other.join();
  EXPECT_EQ(total.load(), 20000 * 7 + 3 * 64 + 3000 * 33 + 3000 * 10);
}

}  // namespace
}  // namespace lorashare

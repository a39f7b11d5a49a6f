// Packed quantized weights: the packing round trip against the definition in
// format/weight_layout.h, and the SIMD quantized MatMul against the scalar
// MatMulQuantizedReference on every Highway target this CPU supports
// (AVX3_DL with VNNI included: this file asks Highway to generate it).
#define HWY_WANT_AVX3_DL
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "format/weight_layout.h"
#include "kernels/half.h"
#include "kernels/matmul.h"
#include "kernels/quantize.h"
#include "target_test_util.h"

namespace lorashare {
namespace {

struct LayoutCase {
  WeightLayout layout;
  int64_t group_size;
};
constexpr LayoutCase kLayouts[] = {{WeightLayout::kQ8Row, 0},
                                   {WeightLayout::kQ4Group, 32},
                                   {WeightLayout::kQ4Group, 64},
                                   {WeightLayout::kQ4Group, 128}};

// Random weights with an all-zero row (row 1) and an all-zero first group in
// row 2, so the zero-scale paths are exercised.
std::vector<float> TestWeights(int64_t rows, int64_t cols, uint32_t seed) {
  std::vector<float> w = RandomFloats(rows * cols, seed, -2.0f, 2.0f);
  if (rows > 1) std::fill(w.begin() + cols, w.begin() + 2 * cols, 0.0f);
  if (rows > 2)
    std::fill(w.begin() + 2 * cols, w.begin() + 2 * cols + std::min<int64_t>(cols, 32), 0.0f);
  return w;
}

struct Packed {
  PackedGeometry g;
  std::vector<uint8_t> blob;
  MatrixView view() const {
    return {DType::kU8, blob.data(), g.rows, g.cols, g.layout, g.group_size};
  }
};

Packed Pack(const std::vector<float>& w, int64_t rows, int64_t cols, LayoutCase lc) {
  Packed p;
  p.g = PackedGeometryFor(lc.layout, rows, cols, lc.group_size).value();
  p.blob = PackMatrix(w.data(), rows, cols, lc.layout, lc.group_size).value();
  return p;
}

std::string Describe(const PackedGeometry& g) {
  return WeightLayoutName(g.layout, g.group_size) + " " + std::to_string(g.rows) + "x" +
         std::to_string(g.cols);
}

// Decodes the stored bytes straight from the layout definition (independent
// of quantize.cc's accessors).
int StoredQ(const Packed& p, int64_t r, int64_t c) {
  // Tiles of 16 rows, each padded_cols / 4 (int8) or / 8 (int4) chunks of 64
  // bytes whose 4-byte lanes are the rows.
  if (p.g.layout == WeightLayout::kQ8Row) {
    const int64_t chunk = (r / 16) * (p.g.padded_cols / 4) + c / 4;
    return static_cast<int8_t>(p.blob[chunk * 64 + r % 16 * 4 + c % 4]);
  }
  const int64_t chunk = (r / 16) * (p.g.padded_cols / 8) + c / 8;
  const uint8_t byte = p.blob[chunk * 64 + r % 16 * 4 + c % 4];
  return (c % 8 < 4 ? byte & 0xF : byte >> 4) - 8;
}
float StoredScale(const Packed& p, int64_t r, int64_t c) {
  const uint8_t* base = p.blob.data() + p.g.scales_offset;
  if (p.g.layout == WeightLayout::kQ8Row) {
    float s;
    std::memcpy(&s, base + r * 4, 4);
    return s;
  }
  uint16_t bits;
  const int64_t tile_group = (r / 16) * p.g.groups_per_row() + c / p.g.group_size;
  std::memcpy(&bits, base + (tile_group * 16 + r % 16) * 2, 2);
  return F16ToF32(bits);
}

TEST(PackMatrixTest, RoundTripWithinHalfAStepAndPaddingIsZero) {
  for (const LayoutCase lc : kLayouts) {
    for (int64_t cols : {1, 31, 100, 128, 200, 300}) {
      const int64_t rows = 5;
      const auto w = TestWeights(rows, cols, static_cast<uint32_t>(cols));
      const Packed p = Pack(w, rows, cols, lc);
      const std::string what = Describe(p.g);
      ASSERT_EQ(p.g.padded_cols % 128, 0);
      ASSERT_GE(p.g.padded_cols, cols);
      ASSERT_LT(p.g.padded_cols - cols, 128);
      std::vector<float> row(cols);
      for (int64_t r = 0; r < rows; ++r) {
        DequantizeRow(p.view(), r, row.data());
        int64_t q_sum = 0;
        for (int64_t c = 0; c < p.g.padded_cols; ++c) {
          q_sum += StoredQ(p, r, c);
          if (c >= cols) {
            ASSERT_EQ(StoredQ(p, r, c), 0) << what << " padding at " << r << "," << c;
            if (lc.layout == WeightLayout::kQ4Group && c / lc.group_size * lc.group_size >= cols) {
              ASSERT_EQ(StoredScale(p, r, c), 0.0f) << what << " padded group scale";
            }
            continue;
          }
          const float s = StoredScale(p, r, c);
          const float v = w[r * cols + c];
          ASSERT_EQ(row[c], StoredQ(p, r, c) * s) << what;
          // Half a quantization step, except the one int4 value past +7.5
          // steps (the grid is -8..7), which clamps to 7.
          const float step = std::fabs(s);
          const float bound = std::fabs(v) > 7.5f * step && lc.layout == WeightLayout::kQ4Group
                                  ? step * 1.001f
                                  : 0.5f * step * 1.001f + 1e-7f;
          ASSERT_LE(std::fabs(row[c] - v), bound) << what << " at " << r << "," << c << " w=" << v;
        }
        if (lc.layout == WeightLayout::kQ8Row) {
          int32_t stored_sum;
          std::memcpy(&stored_sum, p.blob.data() + p.g.sums_offset + r * 4, 4);
          ASSERT_EQ(stored_sum, q_sum) << what << " row " << r;
        }
      }
      // The last tile of 16 rows is padded with q = 0 and scale 0.
      for (int64_t r = rows; r < p.g.padded_rows; ++r) {
        for (int64_t c = 0; c < p.g.padded_cols; ++c) {
          ASSERT_EQ(StoredQ(p, r, c), 0) << what << " padding row " << r << " col " << c;
          ASSERT_EQ(StoredScale(p, r, c), 0.0f) << what << " padding row " << r << " col " << c;
        }
      }
      // The all-zero row dequantizes to zeros with scale 0.
      DequantizeRow(p.view(), 1, row.data());
      for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(row[c], 0.0f) << what;
      ASSERT_EQ(StoredScale(p, 1, 0), 0.0f) << what;
    }
  }
}

TEST(PackMatrixTest, RejectsBadGeometry) {
  const float w[4] = {1, 2, 3, 4};
  EXPECT_FALSE(PackMatrix(w, 2, 2, WeightLayout::kQ4Group, 48).ok());
  EXPECT_FALSE(PackMatrix(w, 0, 2, WeightLayout::kQ8Row, 0).ok());
  // Shapes whose padding or byte counts would overflow (a corrupt file's).
  for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{INT64_MAX, 2},
                                   {2, INT64_MAX},
                                   {int64_t{1} << 32, int64_t{1} << 32}}) {
    for (WeightLayout layout : {WeightLayout::kQ8Row, WeightLayout::kQ4Group}) {
      auto g = PackedGeometryFor(layout, rows, cols, 32);
      ASSERT_FALSE(g.ok()) << rows << "x" << cols;
      EXPECT_NE(g.error().message().find("exceeds"), std::string::npos) << g.error().message();
    }
  }
  EXPECT_TRUE(PackedGeometryFor(WeightLayout::kQ4Group, int64_t{1} << 31, 64, 32).ok());
}

// sum_c |scale * sx * w_deq[c] * xq[c]| per output: the quantized kernels sum
// the same terms in another order (integers within a group, then f32).
std::vector<double> AbsTermSums(const Packed& p, const std::vector<float>& x, int64_t n,
                                int64_t x_stride, float scale) {
  std::vector<double> sums(n * p.g.rows);
  std::vector<int8_t> xq(p.g.padded_cols);
  std::vector<float> row(p.g.cols);
  for (int64_t t = 0; t < n; ++t) {
    const float sx =
        QuantizeActivationRow(x.data() + t * x_stride, p.g.cols, p.g.padded_cols, xq.data());
    for (int64_t r = 0; r < p.g.rows; ++r) {
      DequantizeRow(p.view(), r, row.data());
      double s = 0;
      for (int64_t c = 0; c < p.g.cols; ++c) s += std::fabs(static_cast<double>(row[c]) * xq[c]);
      sums[t * p.g.rows + r] = s * sx * std::fabs(scale);
    }
  }
  return sums;
}

using QuantKernelTest = PerTargetTest;

TEST_P(QuantKernelTest, MatMulMatchesQuantizedReference) {
  ThreadPool pool(2);
  for (const LayoutCase lc : kLayouts) {
    for (int64_t cols : {5, 128, 300}) {
      for (int64_t rows : {1, 3, 19, 70}) {
        const auto w = TestWeights(rows, cols, static_cast<uint32_t>(rows * 7 + cols));
        const Packed p = Pack(w, rows, cols, lc);
        for (int64_t n : {1, 2, 3, 5, 7, 12, 14, 17, 64, 130}) {
          if (n > 17 && rows > 19) continue;  // keeps the scalar reference quick
          const int64_t x_stride = cols + 3, y_stride = rows + 2;
          auto x = RandomFloats(n * x_stride, static_cast<uint32_t>(n + cols), -3.0f, 3.0f);
          if (n > 1) std::fill(x.begin() + x_stride, x.begin() + x_stride + cols, 0.0f);
          const auto bound = AbsTermSums(p, x, n, x_stride, 0.5f);
          for (bool accumulate : {false, true}) {
            const MatMulArgs args{.x = x.data(),
                                  .n = n,
                                  .x_stride = x_stride,
                                  .y_stride = y_stride,
                                  .scale = -0.5f,
                                  .accumulate = accumulate};
            const auto [got, want] = MatMulAndReference(
                p.view(), args, RandomFloats(n * y_stride, 7), n % 2 ? &pool : nullptr);
            for (int64_t t = 0; t < n; ++t) {
              for (int64_t i = 0; i < y_stride; ++i) {
                const int64_t k = t * y_stride + i;
                if (i >= rows) {  // past the row count: untouched
                  ASSERT_EQ(got[k], want[k]);
                  continue;
                }
                const double tol = 1e-6 * bound[t * rows + i] + 2e-6 * std::fabs(want[k]) + 1e-30;
                ASSERT_NEAR(got[k], want[k], tol) << Describe(p.g) << " n=" << n << " token " << t
                                                  << " row " << i << " accumulate=" << accumulate;
              }
            }
          }
        }
      }
    }
  }
}
// Jobs of one input in one pass (q, k and v of a layer): each job's rows as
// its own reference computes them, and rows_done reports every row of every
// job exactly once, only after every unit of the pass's prologue has run
// (once; one unit is slow, so a rows_done that did not wait would see it
// unfinished). Plain f32 weights take the same path.
TEST_P(QuantKernelTest, SameInputJobsMatchEachReference) {
  ThreadPool pool(2);
  const int64_t cols = 96;
  const std::vector<int64_t> job_rows = {19, 1, 40};
  std::vector<LayoutCase> layouts(std::begin(kLayouts), std::end(kLayouts));
  layouts.push_back({WeightLayout::kPlain, 0});
  for (const LayoutCase lc : layouts) {
    for (int64_t n : {1, 5}) {
      const auto x = RandomFloats(n * cols, static_cast<uint32_t>(n), -3.0f, 3.0f);
      std::vector<std::vector<float>> weights;
      std::vector<Packed> packed;
      std::vector<MatrixView> views;
      for (int64_t rows : job_rows) {
        weights.push_back(TestWeights(rows, cols, static_cast<uint32_t>(rows)));
        if (lc.layout == WeightLayout::kPlain) {
          views.push_back({DType::kF32, weights.back().data(), rows, cols});
        } else {
          packed.push_back(Pack(weights.back(), rows, cols, lc));
        }
      }
      for (const Packed& p : packed) views.push_back(p.view());
      std::vector<std::vector<float>> got, want;
      std::vector<std::vector<int>> done;
      std::vector<std::function<void(int64_t, int64_t)>> mark;
      mark.reserve(job_rows.size());
      constexpr int64_t kUnits = 7;
      std::atomic<int> unit_runs[kUnits] = {};
      std::atomic<int> early_rows_done{0};
      MatMulPrologue prologue(kUnits, [&unit_runs](int64_t unit) {
        if (unit == kUnits - 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        ++unit_runs[unit];
      });
      std::vector<MatMulJob> jobs;
      for (size_t m = 0; m < job_rows.size(); ++m) {
        got.emplace_back(n * job_rows[m]);
        want.emplace_back(n * job_rows[m]);
        done.emplace_back(job_rows[m]);
      }
      for (size_t m = 0; m < job_rows.size(); ++m) {
        mark.emplace_back([&, m](int64_t begin, int64_t end) {
          for (const auto& runs : unit_runs) early_rows_done += runs.load() == 0;
          for (int64_t r = begin; r < end; ++r) ++done[m][r];
        });
        jobs.push_back({views[m],
                        {.x = x.data(),
                         .n = n,
                         .x_stride = cols,
                         .y = got[m].data(),
                         .y_stride = job_rows[m],
                         .rows_done = &mark.back(),
                         .prologue = &prologue}});
      }
      MatMulSameInput(jobs, &pool);
      EXPECT_EQ(early_rows_done.load(), 0);
      for (const auto& runs : unit_runs) EXPECT_EQ(runs.load(), 1);
      for (size_t m = 0; m < jobs.size(); ++m) {
        MatMulArgs args = jobs[m].args;
        args.y = want[m].data();
        MatMulReference(views[m], args);
        for (size_t i = 0; i < got[m].size(); ++i) {
          ASSERT_NEAR(got[m][i], want[m][i], 1e-4 * (1 + std::fabs(want[m][i])))
              << "layout " << static_cast<int>(lc.layout) << " job " << m << " n=" << n
              << " output " << i;
        }
        for (int64_t r = 0; r < job_rows[m]; ++r)
          ASSERT_EQ(done[m][r], 1) << "job " << m << " row " << r;
      }
    }
  }
}

// Rows long enough that the GEMM splits the tokens into several blocks.
TEST_P(QuantKernelTest, LongRowsManyTokens) {
  ThreadPool pool(2);
  const int64_t rows = 6, cols = 8200, n = 130;
  for (const LayoutCase lc : kLayouts) {
    const auto w = TestWeights(rows, cols, 3);
    const Packed p = Pack(w, rows, cols, lc);
    const auto x = RandomFloats(n * cols, 4);
    const auto bound = AbsTermSums(p, x, n, cols, 1.0f);
    std::vector<float> got(n * rows), want(n * rows);
    MatMulArgs args{.x = x.data(), .n = n, .x_stride = cols, .y = got.data(), .y_stride = rows};
    MatMul(p.view(), args, &pool);
    args.y = want.data();
    MatMulReference(p.view(), args);
    for (int64_t i = 0; i < n * rows; ++i) {
      ASSERT_NEAR(got[i], want[i], 1e-6 * bound[i] + 2e-6 * std::fabs(want[i]))
          << Describe(p.g) << " token " << i / rows << " row " << i % rows;
    }
  }
}

// kQ8Row sums are exact integers scaled in the reference's order, so the
// kernel must match bit for bit; activations at exact .5 steps (sx = 1) also
// prove the kernels quantize them as the reference does (ties to even).
TEST_P(QuantKernelTest, Q8RowExactWithRoundingTies) {
  const int64_t rows = 9, cols = 200, n = 3;
  const auto w = TestWeights(rows, cols, 8);
  const Packed p = Pack(w, rows, cols, {WeightLayout::kQ8Row, 0});
  std::vector<float> x(n * cols);
  for (int64_t i = 0; i < n * cols; ++i) x[i] = static_cast<float>(i % 41 - 20) + 0.5f;
  for (int64_t t = 0; t < n; ++t) x[t * cols + t] = 127.0f;  // sx = 1: x * inv is exact
  std::vector<float> got(n * rows), want(n * rows);
  MatMulArgs args{.x = x.data(), .n = n, .x_stride = cols, .y = got.data(), .y_stride = rows};
  MatMul(p.view(), args, nullptr);
  args.y = want.data();
  MatMulReference(p.view(), args);
  for (int64_t i = 0; i < n * rows; ++i) ASSERT_EQ(got[i], want[i]) << "output " << i;
}

// The kQ4Group kernels' integer sums at their largest: every stored nibble
// 15 (q = 7) but one per group (q = -8, which sets the scale) and every
// activation at +-127, so the int16 pair sums of targets without VNNI reach
// 4 x 4 x 15 x 127 = 30480 before widening. Sums that did not fit int16
// would saturate or wrap, thousands of integer units off, far past the
// tolerance (widening every 8 chunks fails here).
TEST_P(QuantKernelTest, Q4GroupSumsAtTheirLargestStayExact) {
  ThreadPool pool(2);
  const int64_t rows = 19, cols = 256;
  for (int64_t group : {32, 64, 128}) {
    std::vector<float> w(rows * cols, 7.0f);
    for (int64_t i = 0; i < rows * cols; i += group) w[i] = -8.0f;
    const Packed p = Pack(w, rows, cols, {WeightLayout::kQ4Group, group});
    for (int64_t n : {1, 3, 7}) {
      std::vector<float> x(n * cols, 1.0f);  // token 0: +127 everywhere
      for (int64_t t = 1; t < n; ++t) {
        for (int64_t c = 0; c < cols; ++c) x[t * cols + c] = (t + c / 32) % 2 ? -1.0f : 1.0f;
      }
      const auto bound = AbsTermSums(p, x, n, cols, 1.0f);
      const auto [got, want] =
          MatMulAndReference(p.view(), {.x = x.data(), .n = n, .x_stride = cols, .y_stride = rows},
                             std::vector<float>(n * rows), &pool);
      for (int64_t i = 0; i < n * rows; ++i) {
        ASSERT_NEAR(got[i], want[i], 1e-6 * bound[i])
            << Describe(p.g) << " n=" << n << " token " << i / rows << " row " << i % rows;
      }
    }
  }
}

LORASHARE_INSTANTIATE_PER_TARGET(QuantKernelTest);

// The whole scheme: the quantized MatMul approximates the f32 MatMul of the
// dequantized weights within the activation rounding (half a step of sx per
// element) and f32 rounding.
TEST(QuantizedMatMulTest, ApproximatesF32MatMulOfDequantizedWeights) {
  const int64_t rows = 37, cols = 640, n = 9;
  for (const LayoutCase lc : kLayouts) {
    const auto w = TestWeights(rows, cols, 11);
    const Packed p = Pack(w, rows, cols, lc);
    std::vector<float> deq(rows * cols);
    for (int64_t r = 0; r < rows; ++r) DequantizeRow(p.view(), r, deq.data() + r * cols);
    const auto x = RandomFloats(n * cols, 5, -4.0f, 4.0f);
    std::vector<float> got(n * rows), want(n * rows);
    const MatMulArgs args{
        .x = x.data(), .n = n, .x_stride = cols, .y = got.data(), .y_stride = rows};
    MatMul(p.view(), args, nullptr);
    MatMulArgs f32_args = args;
    f32_args.y = want.data();
    MatMul({DType::kF32, deq.data(), rows, cols}, f32_args, nullptr);
    for (int64_t t = 0; t < n; ++t) {
      float amax = 0;
      for (int64_t c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(x[t * cols + c]));
      for (int64_t r = 0; r < rows; ++r) {
        double abs_w = 0, abs_wx = 0;
        for (int64_t c = 0; c < cols; ++c) {
          abs_w += std::fabs(deq[r * cols + c]);
          abs_wx += std::fabs(deq[r * cols + c] * x[t * cols + c]);
        }
        const double tol = 0.5 * amax / 127.0 * abs_w * 1.0001 + 1e-5 * abs_wx;
        ASSERT_NEAR(got[t * rows + r], want[t * rows + r], tol)
            << Describe(p.g) << " token " << t << " row " << r;
      }
    }
  }
}

}  // namespace
}  // namespace lorashare

// Kernel throughput: GEMV (decode) and GEMM (prefill) per weight dtype.
// Decode is memory-bound, so the bytes/s counter is the figure to compare
// with the machine's streaming bandwidth.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/attention.h"
#include "kernels/matmul.h"

namespace lorashare {
namespace {

void BM_MatMul(benchmark::State& state) {
  const auto dtype = static_cast<DType>(state.range(0));
  const int64_t n = state.range(1), rows = 2048, cols = 2048;
  std::vector<uint8_t> weights(rows * cols * DTypeSize(dtype));
  std::mt19937 rng(1);
  // Small random bit patterns: finite in every dtype.
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = (i % 2) ? 0x3c : rng() & 0xff;
  std::vector<float> x(n * cols, 0.5f), y(n * rows);
  ThreadPool pool(static_cast<int>(state.range(2)));
  const MatrixView w{dtype, weights.data(), rows, cols};
  for (auto _ : state) {
    MatMul(w, {.x = x.data(), .n = n, .x_stride = cols, .y = y.data(), .y_stride = rows}, &pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(weights.size()));
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(n * state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MatMul)
    ->ArgNames({"dtype", "n", "threads"})
    ->ArgsProduct({{static_cast<int64_t>(DType::kF32), static_cast<int64_t>(DType::kBF16),
                    static_cast<int64_t>(DType::kF16)},
                   {1, 64},
                   {1, 2}})
    ->UseRealTime();

void BM_Attention(benchmark::State& state) {
  const int64_t len = state.range(0), heads = 32, kv_heads = 8, head_dim = 64;
  std::vector<float> q(heads * head_dim, 0.1f), out(q.size());
  std::vector<float> cache(len * kv_heads * head_dim, 0.2f);
  for (auto _ : state) {
    Attention({.q = q.data(),
               .k_cache = cache.data(),
               .v_cache = cache.data(),
               .out = out.data(),
               .n = 1,
               .start_position = len - 1,
               .n_heads = heads,
               .n_kv_heads = kv_heads,
               .head_dim = head_dim},
              nullptr);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_Attention)->Arg(128)->Arg(1024);

}  // namespace
}  // namespace lorashare

BENCHMARK_MAIN();

// Kernel throughput: GEMV (decode) and GEMM (prefill) per weight format
// (f32, bf16, packed q8row / q4group) and shape. KERNELS_BENCH_NO_AVX512=1
// times the AVX2 code on an AVX-512 CPU.
#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <vector>

#include "format/weight_layout.h"
#include "hwy/targets.h"
#include "kernels/attention.h"
#include "kernels/dispatch.h"
#include "kernels/half.h"
#include "kernels/matmul.h"
#include "kernels/quantize.h"

namespace lorashare {
namespace {

// Weight formats of the MatMul benchmark.
struct WeightFormat {
  const char* name;
  DType dtype;  // kPlain element type
  WeightLayout layout;
  int64_t group_size;
};
constexpr WeightFormat kFormats[] = {{"f32", DType::kF32, WeightLayout::kPlain, 0},
                                     {"bf16", DType::kBF16, WeightLayout::kPlain, 0},
                                     {"q8row", DType::kU8, WeightLayout::kQ8Row, 0},
                                     {"q4g32", DType::kU8, WeightLayout::kQ4Group, 32},
                                     {"q4g128", DType::kU8, WeightLayout::kQ4Group, 128}};
// [rows (outputs), cols (inputs)]: attention projection, FFN up, FFN down,
// and a rank-64 LoRA's B for the projection (plain formats only).
constexpr int64_t kShapes[][2] = {{2048, 2048}, {8192, 2048}, {2048, 8192}, {2048, 64}};

std::vector<float> RandomFloats(size_t n, float magnitude, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-magnitude, magnitude);
  std::vector<float> values(n);
  for (float& v : values) v = dist(rng);
  return values;
}

std::vector<uint8_t> StoreWeights(const WeightFormat& f, int64_t rows, int64_t cols) {
  const std::vector<float> values = RandomFloats(rows * cols, 0.1f, 1);
  if (f.layout != WeightLayout::kPlain) {
    return PackMatrix(values.data(), rows, cols, f.layout, f.group_size).value();
  }
  std::vector<uint8_t> bytes(rows * cols * DTypeSize(f.dtype));
  for (int64_t i = 0; i < rows * cols; ++i) {
    if (f.dtype == DType::kF32) {
      std::memcpy(&bytes[4 * i], &values[i], 4);
    } else {
      const uint16_t h = F32ToBF16(values[i]);
      std::memcpy(&bytes[2 * i], &h, 2);
    }
  }
  return bytes;
}

// GEMV (n = 1, decode) is memory-bound: compare bytes/s with the machine's
// streaming bandwidth. GEMM (n = 128, prefill) is compute-bound: MAC/s.
void BM_MatMul(benchmark::State& state) {
  const WeightFormat& f = kFormats[state.range(0)];
  const int64_t rows = kShapes[state.range(1)][0], cols = kShapes[state.range(1)][1];
  const int64_t n = state.range(2);
  const std::vector<uint8_t> weights = StoreWeights(f, rows, cols);
  const std::vector<float> x = RandomFloats(n * cols, 1.0f, 2);
  std::vector<float> y(n * rows);
  ThreadPool pool(static_cast<int>(state.range(3)));
  const MatrixView w{f.dtype, weights.data(), rows, cols, f.layout, f.group_size};
  for (auto _ : state) {
    MatMul(w, {.x = x.data(), .n = n, .x_stride = cols, .y = y.data(), .y_stride = rows}, &pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetLabel(fmt::format("{} {}x{} n={} {}", f.name, rows, cols, n, KernelTargetName()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(weights.size()));
  state.counters["MAC/s"] = benchmark::Counter(static_cast<double>(rows * cols * n),
                                               benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MatMul)
    ->ArgNames({"format", "shape", "n", "threads"})
    ->ArgsProduct({{0, 1, 2, 3, 4}, {0, 1, 2}, {1, 128}, {1, 2}})
    ->ArgsProduct({{0, 1}, {3}, {1}, {1, 2}})
    ->UseRealTime();

// Sums words [begin, end) with eight independent lanes, compiled for
// AVX-512 and AVX2 as well and prefetching 4 KiB ahead (as
// base/memory_bandwidth.cc's stream loop), so the loop runs as fast as
// memory delivers the lines.
#if defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
uint64_t
SumWords(const uint64_t* words, int64_t begin, int64_t end) {
  uint64_t lanes[8] = {};
  for (int64_t i = begin; i + 8 <= end; i += 8) {
    __builtin_prefetch(words + i + 512, 0, 3);  // 4 KiB ahead
    for (int k = 0; k < 8; ++k) lanes[k] += words[i + k];
  }
  uint64_t sum = 0;
  for (uint64_t lane : lanes) sum += lane;
  return sum;
}

// Reads words [0, count) in one parallel pass over `pool`, as a GEMV over
// them splits its rows.
void ReadPass(ThreadPool* pool, const uint64_t* words, int64_t count) {
  ParallelFor(
      pool, count,
      [&](int64_t begin, int64_t end) { benchmark::DoNotOptimize(SumWords(words, begin, end)); },
      8);
}

// Decode through the projections of a Llama 3.2 1B-shaped stack (16 layers,
// hidden 2048, FFN 8192, 8 KV heads of 64): ~1e9 weights, far beyond the
// caches, and 112 MatMul calls per token as in the runtime. Each iteration
// also reads the same bytes in the same 112 passes (untimed by the
// benchmark, timed apart): gemv/read is how close the kernels come to what a
// plain read gets from the memory through decode's pass structure.
void BM_DecodeStack(benchmark::State& state) {
  const WeightFormat& f = kFormats[state.range(0)];
  constexpr int64_t kLayers = 16;
  constexpr int64_t kLayerShapes[][2] = {{2048, 2048}, {512, 2048},  {512, 2048}, {2048, 2048},
                                         {8192, 2048}, {8192, 2048}, {2048, 8192}};
  std::vector<std::vector<uint8_t>> stored;
  stored.reserve(kLayers * std::size(kLayerShapes));
  std::vector<MatrixView> views;
  int64_t bytes = 0;
  std::vector<std::vector<uint8_t>> first_layer;  // packed once, copied to every layer
  for (const auto& shape : kLayerShapes) first_layer.push_back(StoreWeights(f, shape[0], shape[1]));
  for (int64_t layer = 0; layer < kLayers; ++layer) {
    for (size_t i = 0; i < std::size(kLayerShapes); ++i) {
      const auto& shape = kLayerShapes[i];
      stored.push_back(first_layer[i]);
      views.push_back({f.dtype, stored.back().data(), shape[0], shape[1], f.layout, f.group_size});
      bytes += static_cast<int64_t>(stored.back().size());
    }
  }
  std::vector<float> x(8192, 0.25f), y(8192);
  ThreadPool pool(static_cast<int>(state.range(1)));
  double read_s = 0, gemv_s = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const auto read_start = std::chrono::steady_clock::now();
    for (const std::vector<uint8_t>& matrix : stored) {
      ReadPass(&pool, reinterpret_cast<const uint64_t*>(matrix.data()),
               static_cast<int64_t>(matrix.size() / sizeof(uint64_t)));
    }
    const auto start = std::chrono::steady_clock::now();
    state.ResumeTiming();
    for (const MatrixView& w : views) {
      MatMul(w, {.x = x.data(), .n = 1, .x_stride = w.cols, .y = y.data(), .y_stride = w.rows},
             &pool);
    }
    benchmark::DoNotOptimize(y.data());
    const auto end = std::chrono::steady_clock::now();
    read_s += std::chrono::duration<double>(start - read_start).count();
    gemv_s += std::chrono::duration<double>(end - start).count();
  }
  state.SetLabel(fmt::format("{} {:.0f} MB/token", f.name, bytes / 1e6));
  state.counters["read_GB/s"] = static_cast<double>(bytes) * state.iterations() / read_s / 1e9;
  state.counters["gemv/read"] = read_s / gemv_s;
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeStack)
    ->ArgNames({"format", "threads"})
    ->ArgsProduct({{1, 2, 3, 4}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// One matrix far beyond the caches (200M weights: 100 MB at q4g32), rows of
// arg 2 columns (8192: FFN down; 2048: every other decode matrix): each
// iteration runs a plain summing read of the bytes and then the GEMV over
// them, split the same way over the same pool, and times both. Pairing them
// within an iteration keeps a host whose bandwidth drifts from skewing the
// ratio: how close the kernel's stream comes to what the memory delivers,
// without decode's per-matrix hand-offs. Arg 0: format, arg 1: threads.
void BM_LargeGemvVsRead(benchmark::State& state) {
  const int64_t kCols = state.range(2), kRows = int64_t{24576} * 8192 / kCols;
  const WeightFormat& f = kFormats[state.range(0)];
  const std::vector<uint8_t> weights = StoreWeights(f, kRows, kCols);
  std::vector<float> x(kCols, 0.25f), y(kRows);
  ThreadPool pool(static_cast<int>(state.range(1)));
  const MatrixView w{f.dtype, weights.data(), kRows, kCols, f.layout, f.group_size};
  const auto* words = reinterpret_cast<const uint64_t*>(weights.data());
  const int64_t word_count = static_cast<int64_t>(weights.size() / sizeof(uint64_t));
  double read_s = 0, gemv_s = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    ReadPass(&pool, words, word_count);
    const auto read = std::chrono::steady_clock::now();
    MatMul(w, {.x = x.data(), .n = 1, .x_stride = kCols, .y = y.data(), .y_stride = kRows}, &pool);
    benchmark::DoNotOptimize(y.data());
    const auto gemv = std::chrono::steady_clock::now();
    read_s += std::chrono::duration<double>(read - start).count();
    gemv_s += std::chrono::duration<double>(gemv - read).count();
  }
  const double bytes = static_cast<double>(weights.size()) * state.iterations();
  state.SetLabel(fmt::format("{} {}x{}", f.name, kRows, kCols));
  state.counters["read_GB/s"] = bytes / read_s / 1e9;
  state.counters["gemv_GB/s"] = bytes / gemv_s / 1e9;
  state.counters["gemv/read"] = read_s / gemv_s;
}
BENCHMARK(BM_LargeGemvVsRead)
    ->ArgNames({"format", "threads", "cols"})
    ->ArgsProduct({{0, 1, 2, 3}, {1, 2}, {8192, 2048}})
    ->UseRealTime();

// Decode reads its weights in about 80 parallel passes a token, of 2.5 to
// 18 MB each at the 1B shape, with a hand-off between them. This reads one
// 512 MB buffer whole and then in passes of arg 0 KiB, split over the same
// pool, and times both in each iteration: what the pass structure alone
// costs a stream, before any kernel.
void BM_ReadInPasses(benchmark::State& state) {
  const int64_t kBytes = int64_t{512} << 20, pass_words = state.range(0) * 1024 / 8;
  std::vector<uint64_t> buffer(kBytes / sizeof(uint64_t), 1);
  const int64_t words = static_cast<int64_t>(buffer.size());
  ThreadPool pool(2);
  const auto read = [&](int64_t begin, int64_t end) {
    ReadPass(&pool, buffer.data() + begin, end - begin);
  };
  double whole_s = 0, passes_s = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    read(0, words);
    const auto whole = std::chrono::steady_clock::now();
    for (int64_t begin = 0; begin < words; begin += pass_words) {
      read(begin, std::min(words, begin + pass_words));
    }
    const auto passes = std::chrono::steady_clock::now();
    whole_s += std::chrono::duration<double>(whole - start).count();
    passes_s += std::chrono::duration<double>(passes - whole).count();
  }
  const double bytes = static_cast<double>(kBytes) * state.iterations();
  state.counters["whole_GB/s"] = bytes / whole_s / 1e9;
  state.counters["passes_GB/s"] = bytes / passes_s / 1e9;
  state.counters["passes/whole"] = whole_s / passes_s;
}
BENCHMARK(BM_ReadInPasses)
    ->ArgName("KiB")
    ->Arg(18432)
    ->Arg(9216)
    ->Arg(2560)
    ->Arg(512)
    ->UseRealTime();

// One decoded token's attention in the 1B shape (32 heads over 8 kv heads of
// 64) over a key and a value cache of `len` random positions.
struct DecodeAttention {
  std::vector<float> q, out;
  std::vector<uint8_t> k, v;
  AttentionArgs args;
};

DecodeAttention MakeDecodeAttention(int64_t len, DType kv_type) {
  constexpr int64_t kHeads = 32, kKvHeads = 8, kHeadDim = 64;
  DecodeAttention a;
  a.q.assign(kHeads * kHeadDim, 0.1f);
  a.out.resize(a.q.size());
  const int64_t capacity = KvCacheCapacity(len);
  a.k.resize(KvCacheBytes(kv_type, kKvHeads, kHeadDim, capacity));
  a.v.resize(a.k.size());
  a.args = {.q = a.q.data(),
            .k_cache = a.k.data(),
            .v_cache = a.v.data(),
            .kv_dtype = kv_type,
            .out = a.out.data(),
            .n = len,
            .n_heads = kHeads,
            .n_kv_heads = kKvHeads,
            .head_dim = kHeadDim,
            .capacity = capacity};
  const std::vector<float> rows = RandomFloats(len * kKvHeads * kHeadDim, 1.0f, 3);
  StoreKeys(rows.data(), a.args, a.k.data());
  StoreValues(rows.data(), a.args, a.v.data());
  a.args.n = 1;
  a.args.start_position = len - 1;
  return a;
}

DType KvTypeArg(int64_t index) { return std::array{DType::kF32, DType::kF16, DType::kI8}[index]; }

// Per KV cache type, on one thread with the cache warm.
void BM_Attention(benchmark::State& state) {
  const DType kv_type = KvTypeArg(state.range(1));
  const DecodeAttention a = MakeDecodeAttention(state.range(0), kv_type);
  for (auto _ : state) {
    Attention(a.args, nullptr);
    benchmark::DoNotOptimize(a.out.data());
  }
  state.SetLabel(fmt::format("{} KV", DTypeName(kv_type)));
}
BENCHMARK(BM_Attention)->ArgNames({"len", "kv"})->ArgsProduct({{128, 1024}, {0, 1, 2}});

// A prompt's attention in the 1B shape: `len` tokens from position 0 over
// the caches they wrote, on `threads` threads. MAC/s counts the causal
// products (two per query element and position: scores and value sums).
void BM_AttentionPrefill(benchmark::State& state) {
  const int64_t len = state.range(0);
  const DType kv_type = KvTypeArg(state.range(1));
  std::optional<ThreadPool> pool;
  if (state.range(2) > 1) pool.emplace(state.range(2));
  DecodeAttention a = MakeDecodeAttention(len, kv_type);
  a.q = RandomFloats(len * a.args.n_heads * a.args.head_dim, 1.0f, 4);
  a.out.resize(a.q.size());
  a.args.q = a.q.data();
  a.args.out = a.out.data();
  a.args.n = len;
  a.args.start_position = 0;
  for (auto _ : state) {
    Attention(a.args, pool ? &*pool : nullptr);
    benchmark::DoNotOptimize(a.out.data());
  }
  state.SetLabel(fmt::format("{} KV", DTypeName(kv_type)));
  const double macs = 2.0 * a.args.n_heads * a.args.head_dim * len * (len + 1) / 2;
  state.counters["MAC/s"] = benchmark::Counter(macs, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_AttentionPrefill)
    ->ArgNames({"len", "kv", "threads"})
    ->ArgsProduct({{128, 1024}, {0, 1, 2}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Attention as decode meets it: one token over each of 16 layers' caches, two
// threads, the caches cold: a 64 MiB read (untimed) before each pass over the
// layers evicts them from the L3, as the weights streaming between two
// layers' attention do.
void BM_AttentionDecode(benchmark::State& state) {
  constexpr int64_t kLayers = 16;
  const DType kv_type = KvTypeArg(state.range(1));
  std::vector<DecodeAttention> layers;
  for (int64_t layer = 0; layer < kLayers; ++layer) {
    layers.push_back(MakeDecodeAttention(state.range(0), kv_type));
  }
  std::vector<uint64_t> evict(64 << 20 >> 3, 1);
  ThreadPool pool(2);
  for (auto _ : state) {
    state.PauseTiming();
    uint64_t sum = 0;
    for (uint64_t word : evict) sum += word;
    benchmark::DoNotOptimize(sum);
    state.ResumeTiming();
    for (const DecodeAttention& layer : layers) Attention(layer.args, &pool);
    benchmark::DoNotOptimize(layers.back().out.data());
  }
  state.SetLabel(fmt::format("{} KV, 16 layers", DTypeName(kv_type)));
  const AttentionArgs& args = layers[0].args;
  state.SetBytesProcessed(
      state.iterations() * kLayers * 2 *
      static_cast<int64_t>(KvCacheBytes(kv_type, args.n_kv_heads, args.head_dim, state.range(0))));
}
BENCHMARK(BM_AttentionDecode)
    ->ArgNames({"len", "kv"})
    ->ArgsProduct({{160, 1024, 4096}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace lorashare

int main(int argc, char** argv) {
  if (std::getenv("KERNELS_BENCH_NO_AVX512") != nullptr) {
    hwy::DisableTargets(HWY_AVX3 | HWY_AVX3_DL);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
}

#include "base/memory_bandwidth.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

namespace lorashare {
namespace {

constexpr uint64_t kLineBytes = 64;
constexpr size_t kWordsPerLine = kLineBytes / sizeof(uint64_t);

// Wide loads keep more of the stream in flight per core: on x86 the sum is
// compiled for AVX-512 and AVX2 too and the best the CPU runs is picked at
// load time. (The kernels use these widths through Highway as well.)
#if defined(__x86_64__)
#define LS_STREAM_TARGETS __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LS_STREAM_TARGETS
#endif

// How far ahead of the sum each line is prefetched. The hardware prefetchers
// alone kept too few lines in flight: on this project's 2-core Zen 4 host a
// plain summing read streamed 49-69 GB/s where the same loop prefetching
// 4 KiB ahead streamed 73-76 (and the quantized GEMV, which prefetches its
// weights, outran the plain read by up to 1.5x). The bound must be what the
// memory delivers, not what one loop style gets from it.
constexpr uint64_t kPrefetchLines = 4096 / kLineBytes;

// Sums whole 64-byte lines with one accumulator per word of a line: the
// additions are independent, so the compiler vectorises them and the loop
// runs as fast as the memory delivers the lines.
LS_STREAM_TARGETS uint64_t SumLines(const uint64_t* words, uint64_t lines) {
  uint64_t acc[kWordsPerLine] = {};
  for (uint64_t line = 0; line < lines; ++line) {
    const uint64_t* p = words + line * kWordsPerLine;
    // Past the slice's end it names lines of the next slice or none: a
    // prefetch never faults.
    __builtin_prefetch(p + kPrefetchLines * kWordsPerLine, 0, 3);
    for (size_t k = 0; k < kWordsPerLine; ++k) acc[k] += p[k];
  }
  uint64_t sum = 0;
  for (uint64_t a : acc) sum += a;
  return sum;
}

// Runs fn(thread) on `threads` threads (the caller being thread 0) and
// returns when all are done.
void OnThreads(int threads, const std::function<void(int)>& fn) {
  std::vector<std::thread> workers;
  for (int t = 1; t < threads; ++t) workers.emplace_back(fn, t);
  fn(0);
  for (auto& worker : workers) worker.join();
}

// An anonymous private mapping, unmapped on destruction.
class Buffer {
 public:
  static Result<Buffer> Allocate(uint64_t bytes) {
    void* data = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED) {
      return MakeError(ErrorCode::kIo, "bandwidth: cannot map {} bytes: {}", bytes,
                       std::strerror(errno));
    }
    // Huge pages where the system allows them: streaming measures the memory,
    // not TLB misses. Refusal is harmless.
    ::madvise(data, bytes, MADV_HUGEPAGE);
    return Buffer(static_cast<uint64_t*>(data), bytes);
  }
  Buffer(Buffer&& other) noexcept : data_(other.data_), bytes_(other.bytes_) {
    other.data_ = nullptr;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer& operator=(Buffer&&) = delete;
  ~Buffer() {
    if (data_ != nullptr) ::munmap(data_, bytes_);
  }
  uint64_t* data() const { return data_; }

 private:
  Buffer(uint64_t* data, uint64_t bytes) : data_(data), bytes_(bytes) {}
  uint64_t* data_;
  uint64_t bytes_;
};

}  // namespace

Result<BandwidthResult> MeasureReadBandwidth(const BandwidthOptions& options) {
  if (options.threads < 1 || options.passes < 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "bandwidth: threads ({}) and passes ({}) must be at least 1", options.threads,
                     options.passes);
  }
  const uint64_t lines = options.buffer_bytes / kLineBytes;
  const auto threads = static_cast<uint64_t>(options.threads);
  if (lines < threads) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "bandwidth: a buffer of {} bytes has less than one 64-byte line per thread "
                     "({} threads)",
                     options.buffer_bytes, options.threads);
  }
  LS_ASSIGN_OR_RETURN(Buffer buffer, Buffer::Allocate(lines * kLineBytes));
  uint64_t* words = buffer.data();
  // Thread t owns lines [first(t), first(t + 1)); it fills its own slice, so
  // on a NUMA machine the pages sit beside the core that reads them.
  auto first = [&](uint64_t t) { return lines * t / threads; };
  OnThreads(options.threads, [&](int t) {
    const uint64_t begin = first(t) * kWordsPerLine, end = first(t + 1) * kWordsPerLine;
    for (uint64_t i = begin; i < end; ++i) words[i] = i;
  });
  // Where the sums go, so the passes cannot be optimised away.
  std::atomic<uint64_t> sink{0};
  BandwidthResult result;
  result.buffer_bytes = lines * kLineBytes;
  double total_rate = 0;
  for (int pass = 0; pass < options.passes; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    OnThreads(options.threads, [&](int t) {
      const uint64_t begin = first(t);
      sink.fetch_add(SumLines(words + begin * kWordsPerLine, first(t + 1) - begin),
                     std::memory_order_relaxed);
    });
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = static_cast<double>(result.buffer_bytes) / seconds;
    result.best_bytes_per_s = std::max(result.best_bytes_per_s, rate);
    total_rate += rate;
  }
  result.mean_bytes_per_s = total_rate / options.passes;
  // The sum of 0..n-1 over all passes: checking it keeps every load live.
  const uint64_t n = lines * kWordsPerLine;
  const uint64_t expected =
      (n % 2 == 0 ? n / 2 * (n - 1) : (n - 1) / 2 * n) * static_cast<uint64_t>(options.passes);
  if (sink.load() != expected) {
    return MakeError(ErrorCode::kInternal, "bandwidth: the passes summed {} instead of {}",
                     sink.load(), expected);
  }
  return result;
}

}  // namespace lorashare

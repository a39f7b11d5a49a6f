#include "kernels/thread_pool.h"

#include <algorithm>
#include <chrono>

namespace lorashare {
namespace {

// How long a thread waits for a condition before sleeping: longer than the
// gaps between the ParallelFor calls of one decoded token.
constexpr auto kSpin = std::chrono::microseconds(200);
// Busy polls before polling with yields: on a machine with more runnable
// threads than cores, pure spinning would hold the core from the very thread
// being waited for (measured here: 1 ms per call instead of 5 us).
constexpr int kBusyPolls = 32;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls until done() or kSpin has passed; returns done().
template <class Done>
bool SpinUntil(const Done& done) {
  for (int i = 0; i < kBusyPolls; ++i) {
    if (done()) return true;
    CpuRelax();
  }
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::yield();
  }
  return done();
}

constexpr uint64_t Pack(int64_t front, int64_t back) {
  return static_cast<uint64_t>(front) << 32 | static_cast<uint64_t>(back);
}
constexpr int64_t FrontOf(uint64_t range) { return static_cast<int64_t>(range >> 32); }
constexpr int64_t BackOf(uint64_t range) { return static_cast<int64_t>(range & 0xffffffffu); }

int ResolveThreads(int threads) {
  return threads > 0 ? threads
                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

ThreadPool::ThreadPool(int threads) : shares_(ResolveThreads(threads)) {
  threads = static_cast<int>(shares_.size());
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1);
  { std::lock_guard<std::mutex> lock(mutex_); }
  start_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::ParallelFor(int64_t count, const std::function<void(int64_t, int64_t)>& fn,
                             int64_t grain) {
  if (count <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t units = (count + grain - 1) / grain;
  const int64_t parts = std::min<int64_t>(size(), units);
  if (parts <= 1) {
    fn(0, count);
    return;
  }
  if (units > 0xffffffff) {  // beyond a share's 32-bit bounds: split the call
    const int64_t half = units / 2 * grain;
    ParallelFor(half, fn, grain);
    ParallelFor(
        count - half, [&](int64_t b, int64_t e) { fn(half + b, half + e); }, grain);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mutex_);
  for (int64_t i = 0; i < size(); ++i) {
    const int64_t begin = i < parts ? units * i / parts : units;
    const int64_t end = i < parts ? units * (i + 1) / parts : units;
    shares_[i].range.store(Pack(begin, end), std::memory_order_relaxed);
  }
  count_ = count;
  grain_ = grain;
  task_ = &fn;
  pending_.store(static_cast<int>(workers_.size()));
  // Sequentially consistent: a worker that registered as a sleeper before
  // this load is notified; one registering later sees the new generation.
  generation_.fetch_add(1);
  if (sleepers_.load() > 0) {
    { std::lock_guard<std::mutex> lock(mutex_); }
    start_.notify_all();
  }
  RunShares(0);
  const auto all_done = [this] { return pending_.load(std::memory_order_acquire) == 0; };
  if (!SpinUntil(all_done)) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, all_done);
  }
  task_ = nullptr;
}

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  while (true) {
    const auto started = [&] { return generation_.load() != seen; };
    if (!SpinUntil(started)) {
      sleepers_.fetch_add(1);
      {
        std::unique_lock<std::mutex> lock(mutex_);
        start_.wait(lock, started);
      }
      sleepers_.fetch_sub(1);
    }
    if (stop_.load()) return;
    seen = generation_.load();
    RunShares(index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // The caller may be asleep on done_; it checks pending_ under mutex_.
      { std::lock_guard<std::mutex> lock(mutex_); }
      done_.notify_one();
    }
  }
}

std::pair<int64_t, int64_t> ThreadPool::Claim(int share, bool from_back) {
  std::atomic<uint64_t>& range = shares_[share].range;
  uint64_t old = range.load(std::memory_order_relaxed);
  for (;;) {
    const int64_t front = FrontOf(old), back = BackOf(old);
    if (front >= back) return {0, 0};
    const int64_t take = std::max<int64_t>(1, (back - front) / (from_back ? 4 : 2));
    const uint64_t rest = from_back ? Pack(front, back - take) : Pack(front + take, back);
    if (range.compare_exchange_weak(old, rest, std::memory_order_relaxed)) {
      return from_back ? std::make_pair(back - take, back) : std::make_pair(front, front + take);
    }
  }
}

void ThreadPool::RunShares(int self) {
  const auto run = [this](std::pair<int64_t, int64_t> units) {
    (*task_)(units.first * grain_, std::min(count_, units.second * grain_));
  };
  for (auto claim = Claim(self, false); claim.first < claim.second; claim = Claim(self, false)) {
    run(claim);
  }
  for (int k = 1; k < size(); ++k) {
    const int victim = (self + k) % size();
    for (auto claim = Claim(victim, true); claim.first < claim.second;
         claim = Claim(victim, true)) {
      run(claim);
    }
  }
}

}  // namespace lorashare

// ThreadPool: a fixed set of worker threads that split a range of work items
// (output rows, attention heads) into one contiguous chunk per thread.
//
// The calling thread takes the first chunk itself, so a pool of one thread
// runs everything inline. ParallelFor calls from several threads are
// serialised: sessions on one model may share the pool.
//
// Decode calls ParallelFor over a hundred times per token, so waking the
// workers must cost far less than a futex round trip: idle workers spin on a
// generation counter for a while (kSpin) and only then sleep on a condition
// variable; the caller likewise spins before sleeping while it waits.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace lorashare {

class ThreadPool {
 public:
  // `threads` counts the caller; 0 = one per hardware thread.
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) on disjoint chunks covering [0, count) and returns
  // when all are done. Chunk bounds are multiples of `grain` (except the end),
  // so a kernel can keep its tiles whole.
  void ParallelFor(int64_t count, const std::function<void(int64_t, int64_t)>& fn,
                   int64_t grain = 1);

 private:
  void WorkerLoop(int index);

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // one ParallelFor at a time
  // Bumped once per ParallelFor (and by the destructor): the start signal.
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};   // workers still running the current call
  std::atomic<int> sleepers_{0};  // workers blocked (or about to be) on start_
  std::atomic<bool> stop_{false};
  std::mutex mutex_;  // guards only the sleeping side of start_ and done_
  std::condition_variable start_;
  std::condition_variable done_;
  const std::function<void(int64_t, int64_t)>* task_ = nullptr;
  std::vector<std::pair<int64_t, int64_t>> chunks_;
};

// Work made of consecutive parts, part m being units [offsets[m],
// offsets[m + 1]): calls fn(m, first, last) with each part's share of
// [begin, end), in the part's own units.
template <class Fn>
void ForEachPart(std::span<const int64_t> offsets, int64_t begin, int64_t end, const Fn& fn) {
  for (size_t m = 0; m + 1 < offsets.size(); ++m) {
    const int64_t first = std::max(begin, offsets[m]), last = std::min(end, offsets[m + 1]);
    if (first < last) fn(m, first - offsets[m], last - offsets[m]);
  }
}

// Runs fn over [0, count) on `pool`, or inline when `pool` is null.
inline void ParallelFor(ThreadPool* pool, int64_t count,
                        const std::function<void(int64_t, int64_t)>& fn, int64_t grain = 1) {
  if (pool == nullptr) {
    if (count > 0) fn(0, count);
    return;
  }
  pool->ParallelFor(count, fn, grain);
}

}  // namespace lorashare

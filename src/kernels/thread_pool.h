// ThreadPool: a fixed set of worker threads that split a range of work items
// (output rows, attention heads) into one contiguous share per thread.
//
// The calling thread takes the first share itself, so a pool of one thread
// runs everything inline. ParallelFor calls from several threads are
// serialised: sessions on one model may share the pool.
//
// A thread that finishes its share takes the unclaimed end of another's:
// two cores rarely stream memory at the same rate (here one ran 3-5% behind
// in decode), and a static split makes every call as slow as the slower one.
// Owners claim their share from the front in halving pieces (long
// contiguous runs first), others from the back, so fn sees a few ranges per
// thread rather than one.
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

  // Calls fn(begin, end) on disjoint ranges covering [0, count) and returns
  // when all are done. Range bounds are multiples of `grain` (except the
  // end), so a kernel can keep its tiles whole.
  void ParallelFor(int64_t count, const std::function<void(int64_t, int64_t)>& fn,
                   int64_t grain = 1);

 private:
  void WorkerLoop(int index);
  // Runs fn over claims of thread `self`'s share, then over others' shares.
  void RunShares(int self);
  // A claimed range of units of a share, or begin == end when it is used up:
  // half of what is left from the front (its owner), or a quarter from the
  // back (another thread).
  std::pair<int64_t, int64_t> Claim(int share, bool from_back);

  // A thread's share of the call's units: front in the high 32 bits, back
  // in the low, so owner and thieves claim with one compare-and-swap.
  struct alignas(64) Share {
    std::atomic<uint64_t> range{0};
  };

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
  int64_t count_ = 0, grain_ = 1;  // of the current call
  std::vector<Share> shares_;
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

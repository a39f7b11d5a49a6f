// Scratch: a growing, vector-aligned buffer that a kernel keeps per thread
// (thread_local) and reuses across calls, so hot paths allocate only when a
// call needs more than any before it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hwy/aligned_allocator.h"

namespace lorashare {

class Scratch {
 public:
  // Room for `count` Ts; earlier contents are not kept when it grows.
  template <typename T>
  T* Get(size_t count) {
    const size_t bytes = count * sizeof(T);
    if (bytes > capacity_) {
      memory_ = hwy::AllocateAligned<uint8_t>(bytes);
      capacity_ = bytes;
    }
    return reinterpret_cast<T*>(memory_.get());
  }

 private:
  hwy::AlignedFreeUniquePtr<uint8_t[]> memory_;
  size_t capacity_ = 0;
};

}  // namespace lorashare

// Memory bandwidth: how fast this machine streams memory into the cores.
//
// Decode is memory-bound: a token reads every weight once, so tokens/s can
// at best reach bandwidth / weight bytes per token. `lorashare bench`
// measures the bound in the same run with this: a read-only streaming sum
// over a buffer much larger than the caches, prefetching ahead as the GEMV
// kernels do, split across threads the way the kernels split their work,
// best of a few passes (the passes differ only by interference from the
// rest of the machine).
#pragma once

#include <cstdint>

#include "base/result.h"

namespace lorashare {

struct BandwidthOptions {
  uint64_t buffer_bytes = uint64_t{1} << 30;  // rounded down to whole 64-byte lines
  int threads = 1;                            // each sums one contiguous slice
  int passes = 3;
};

struct BandwidthResult {
  double best_bytes_per_s = 0;  // fastest pass
  double mean_bytes_per_s = 0;  // over all passes
  uint64_t buffer_bytes = 0;    // bytes each pass read
};

// Allocates the buffer, fills it (so every page is resident and distinct
// from the shared zero page), times `passes` read passes and frees it.
// kInvalidArgument for threads or passes < 1 or a buffer under 64 bytes per
// thread; kIo when the memory cannot be had.
Result<BandwidthResult> MeasureReadBandwidth(const BandwidthOptions& options);

}  // namespace lorashare

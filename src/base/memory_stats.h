// MemoryStats: how much memory this process holds, as the kernel counts it.
//
// The demo prints these after loading a model, after prefill and after
// generation to show what a second model on a shared foundation costs.
// Current RSS (VmRSS) shows what a step added; peak RSS (VmHWM) is what the
// reference demo reports (getrusage's ru_maxrss). PSS divides shared pages
// among the processes mapping them, so it tells what this process costs
// beyond what other processes already hold.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace lorashare {

struct MemoryStats {
  uint64_t rss_bytes = 0;       // VmRSS: resident now
  uint64_t peak_rss_bytes = 0;  // VmHWM: highest resident so far
};

// Reads VmRSS and VmHWM from /proc/self/status.
Result<MemoryStats> ReadMemoryStats();

// Reads Pss from /proc/self/smaps_rollup.
Result<uint64_t> ReadPssBytes();

// Finds `field` ("VmRSS", "Pss", ...) in the text of a /proc status-style
// file ("Name:   123 kB" lines) and returns it in bytes. `source` names the
// file in errors.
Result<uint64_t> ParseProcKilobytes(std::string_view text, std::string_view field,
                                    std::string_view source);

// Bytes as MiB with six decimals, the reference demo's format ("7886.125000").
std::string FormatMiB(uint64_t bytes);

}  // namespace lorashare

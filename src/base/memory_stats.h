// MemoryStats: how much memory this process holds, as the kernel counts it.
//
// The demo prints these after loading a model, after prefill and after
// generation to show what a second model on a shared foundation costs.
// Current RSS (VmRSS) shows what a step added; peak RSS (VmHWM) is what the
// reference demo reports (getrusage's ru_maxrss). PSS divides shared pages
// among the processes mapping them, so it tells what this process costs
// beyond what other processes already hold; summed over processes it is what
// they hold together.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace lorashare {

struct MemoryStats {
  uint64_t rss_bytes = 0;       // VmRSS: resident now
  uint64_t peak_rss_bytes = 0;  // VmHWM: highest resident so far
};

// Reads VmRSS and VmHWM from /proc/<pid>/status; pid 0 is this process.
Result<MemoryStats> ReadMemoryStats(pid_t pid = 0);

// A process's memory summed over all its mappings (/proc/<pid>/smaps_rollup).
struct SmapsRollup {
  uint64_t rss_bytes = 0;
  uint64_t pss_bytes = 0;
  // Pss split into anonymous (heap, KV cache, private copies) and file-backed
  // (mapped .ptd weights) pages; older kernels do not report them.
  std::optional<uint64_t> pss_anon_bytes;
  std::optional<uint64_t> pss_file_bytes;
  // Resident bytes mapped by 2 MiB page-table entries (AnonHugePages +
  // ShmemPmdMapped + FilePmdMapped): weights read through these cost one TLB
  // entry per 2 MiB. Fields a kernel does not write count as zero.
  uint64_t huge_page_mapped_bytes = 0;
};

// One mapping of a process (a block of /proc/<pid>/smaps).
struct MappingPages {
  uint64_t rss_bytes = 0;
  uint64_t huge_page_mapped_bytes = 0;  // as in SmapsRollup
};

// Parses the text of a smaps file and returns the mapping that holds
// `address`: kNotFound where none does, kCorrupt (naming `source` and the
// field) where that mapping's block is malformed.
Result<MappingPages> ParseSmapsMappingAt(std::string_view text, uintptr_t address,
                                         std::string_view source);

// The mapping of this process that holds `address` (/proc/self/smaps).
Result<MappingPages> ReadMappingPages(const void* address);

// Parses the text of a smaps_rollup file; `source` names it in errors.
Result<SmapsRollup> ParseSmapsRollup(std::string_view text, std::string_view source);

// Reads /proc/<pid>/smaps_rollup; pid 0 is this process.
Result<SmapsRollup> ReadSmapsRollup(pid_t pid = 0);

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

#include "base/memory_stats.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "base/output_file.h"

namespace lorashare {
namespace {

// /proc/<pid>/<name>, or /proc/self/<name> for pid 0.
std::string ProcPath(pid_t pid, std::string_view name) {
  return pid == 0 ? fmt::format("/proc/self/{}", name) : fmt::format("/proc/{}/{}", pid, name);
}

std::string_view TrimSpaces(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

Result<uint64_t> ParseKilobyteValue(std::string_view value, std::string_view field,
                                    std::string_view source) {
  value = TrimSpaces(value);
  constexpr std::string_view kUnit = " kB";
  if (!value.ends_with(kUnit)) {
    return MakeError(ErrorCode::kCorrupt, "{}: field {} has value '{}', expected '<number> kB'",
                     source, field, value);
  }
  value.remove_suffix(kUnit.size());
  uint64_t kilobytes = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), kilobytes);
  if (ec != std::errc() || end != value.data() + value.size() || kilobytes > (UINT64_MAX >> 10)) {
    return MakeError(ErrorCode::kCorrupt, "{}: field {} has value '{} kB', not a kB count", source,
                     field, value);
  }
  return kilobytes << 10;
}

// A field that older kernels do not write: absent is no error.
Result<std::optional<uint64_t>> ParseOptionalKilobytes(std::string_view text,
                                                       std::string_view field,
                                                       std::string_view source) {
  auto value = ParseProcKilobytes(text, field, source);
  if (!value.ok() && value.error().code() == ErrorCode::kNotFound) {
    return std::optional<uint64_t>();
  }
  LS_ASSIGN_OR_RETURN(uint64_t bytes, std::move(value));
  return std::optional<uint64_t>(bytes);
}

// AnonHugePages + ShmemPmdMapped + FilePmdMapped of one smaps block or rollup.
Result<uint64_t> HugePageMappedBytes(std::string_view text, std::string_view source) {
  uint64_t total = 0;
  for (std::string_view field : {"AnonHugePages", "ShmemPmdMapped", "FilePmdMapped"}) {
    LS_ASSIGN_OR_RETURN(std::optional<uint64_t> bytes, ParseOptionalKilobytes(text, field, source));
    total += bytes.value_or(0);
  }
  return total;
}

// A smaps block's first line, "<start>-<end> <perms> ...", as [start, end);
// nullopt for any other line.
std::optional<std::pair<uintptr_t, uintptr_t>> MappingRange(std::string_view line) {
  const std::string_view range = line.substr(0, line.find(' '));
  const size_t dash = range.find('-');
  if (dash == std::string_view::npos || range.size() == line.size()) return std::nullopt;
  uintptr_t start = 0, end = 0;
  const char* middle = range.data() + dash;
  const char* last = range.data() + range.size();
  auto [start_end, start_ec] = std::from_chars(range.data(), middle, start, 16);
  auto [end_end, end_ec] = std::from_chars(middle + 1, last, end, 16);
  if (start_ec != std::errc() || start_end != middle || end_ec != std::errc() || end_end != last) {
    return std::nullopt;
  }
  return std::make_pair(start, end);
}

}  // namespace

Result<MappingPages> ParseSmapsMappingAt(std::string_view text, uintptr_t address,
                                         std::string_view source) {
  size_t block_begin = std::string_view::npos;  // the matching block's fields
  size_t offset = 0;
  while (offset < text.size()) {
    const size_t newline = text.find('\n', offset);
    const size_t line_end = newline == std::string_view::npos ? text.size() : newline;
    const auto range = MappingRange(text.substr(offset, line_end - offset));
    if (range && block_begin != std::string_view::npos) break;  // the block ends here
    if (range && range->first <= address && address < range->second) block_begin = line_end;
    offset = line_end + 1;
  }
  if (block_begin == std::string_view::npos) {
    return MakeError(ErrorCode::kNotFound, "{}: no mapping holds address {:#x}", source, address);
  }
  const std::string_view block =
      text.substr(block_begin, std::min(offset, text.size()) - block_begin);
  MappingPages pages;
  LS_ASSIGN_OR_RETURN(pages.rss_bytes, ParseProcKilobytes(block, "Rss", source));
  LS_ASSIGN_OR_RETURN(pages.huge_page_mapped_bytes, HugePageMappedBytes(block, source));
  return pages;
}

Result<MappingPages> ReadMappingPages(const void* address) {
  const std::string path = ProcPath(0, "smaps");
  LS_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return ParseSmapsMappingAt(text, reinterpret_cast<uintptr_t>(address), path);
}

Result<uint64_t> ParseProcKilobytes(std::string_view text, std::string_view field,
                                    std::string_view source) {
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || line.substr(0, colon) != field) continue;
    return ParseKilobyteValue(line.substr(colon + 1), field, source);
  }
  return MakeError(ErrorCode::kNotFound, "{}: no field {}", source, field);
}

Result<MemoryStats> ReadMemoryStats(pid_t pid) {
  const std::string path = ProcPath(pid, "status");
  LS_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  MemoryStats stats;
  LS_ASSIGN_OR_RETURN(stats.rss_bytes, ParseProcKilobytes(text, "VmRSS", path));
  LS_ASSIGN_OR_RETURN(stats.peak_rss_bytes, ParseProcKilobytes(text, "VmHWM", path));
  return stats;
}

Result<SmapsRollup> ParseSmapsRollup(std::string_view text, std::string_view source) {
  SmapsRollup rollup;
  LS_ASSIGN_OR_RETURN(rollup.rss_bytes, ParseProcKilobytes(text, "Rss", source));
  LS_ASSIGN_OR_RETURN(rollup.pss_bytes, ParseProcKilobytes(text, "Pss", source));
  LS_ASSIGN_OR_RETURN(rollup.pss_anon_bytes, ParseOptionalKilobytes(text, "Pss_Anon", source));
  LS_ASSIGN_OR_RETURN(rollup.pss_file_bytes, ParseOptionalKilobytes(text, "Pss_File", source));
  LS_ASSIGN_OR_RETURN(rollup.huge_page_mapped_bytes, HugePageMappedBytes(text, source));
  return rollup;
}

Result<SmapsRollup> ReadSmapsRollup(pid_t pid) {
  const std::string path = ProcPath(pid, "smaps_rollup");
  LS_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return ParseSmapsRollup(text, path);
}

Result<uint64_t> ReadPssBytes() {
  LS_ASSIGN_OR_RETURN(SmapsRollup rollup, ReadSmapsRollup());
  return rollup.pss_bytes;
}

std::string FormatMiB(uint64_t bytes) {
  return fmt::format("{:.6f}", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

}  // namespace lorashare

#include "base/memory_stats.h"

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

}  // namespace

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
  for (std::string_view field : {"AnonHugePages", "ShmemPmdMapped", "FilePmdMapped"}) {
    LS_ASSIGN_OR_RETURN(std::optional<uint64_t> bytes, ParseOptionalKilobytes(text, field, source));
    rollup.huge_page_mapped_bytes += bytes.value_or(0);
  }
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

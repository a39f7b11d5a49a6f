#include "base/memory_stats.h"

#include <charconv>

#include "base/output_file.h"

namespace lorashare {
namespace {

constexpr std::string_view kStatusPath = "/proc/self/status";
constexpr std::string_view kSmapsRollupPath = "/proc/self/smaps_rollup";

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

Result<uint64_t> ReadProcField(std::string_view path, std::string_view field) {
  LS_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(std::string(path)));
  return ParseProcKilobytes(text, field, path);
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

Result<MemoryStats> ReadMemoryStats() {
  LS_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(std::string(kStatusPath)));
  MemoryStats stats;
  LS_ASSIGN_OR_RETURN(stats.rss_bytes, ParseProcKilobytes(text, "VmRSS", kStatusPath));
  LS_ASSIGN_OR_RETURN(stats.peak_rss_bytes, ParseProcKilobytes(text, "VmHWM", kStatusPath));
  return stats;
}

Result<uint64_t> ReadPssBytes() { return ReadProcField(kSmapsRollupPath, "Pss"); }

std::string FormatMiB(uint64_t bytes) {
  return fmt::format("{:.6f}", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

}  // namespace lorashare

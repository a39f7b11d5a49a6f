// lorashare cache: put data files in the page cache as 2 MiB folios, so the
// runtime maps their weights by huge pages (base/page_cache.h).
#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "base/page_cache.h"
#include "tools/commands.h"
#include "tools/report.h"

namespace lorashare::tools {
namespace {

constexpr uint64_t kHugePage = uint64_t{2} << 20;

std::string Describe(const CachedFile& file) {
  return fmt::format("{:.1f} MiB, {:.1f} MiB of it mapped by 2 MiB pages", file.bytes / kMiB,
                     file.huge_page_mapped_bytes / kMiB);
}

int RunCache(const std::vector<std::string>& files, bool check) {
  for (const std::string& path : files) {
    auto before = ReadIntoPageCache(path);
    if (!before.ok()) return ReportError(before.error());
    if (check) {
      fmt::print("{}: {}\n", path, Describe(*before));
      continue;
    }
    // Every whole 2 MiB of it mapped so already (a file that was not cached
    // comes in that way): another read from disk would change nothing.
    if (before->huge_page_mapped_bytes >= before->bytes / kHugePage * kHugePage) {
      fmt::print("{}: {}; already in 2 MiB folios\n", path, Describe(*before));
      continue;
    }
    auto after = RecacheInLargeFolios(path);
    if (!after.ok()) return ReportError(after.error());
    fmt::print("{}: was {}; now {}\n", path, Describe(*before), Describe(*after));
  }
  return 0;
}

}  // namespace

void RegisterCache(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "cache",
      "Re-cache .ptd files in 2 MiB page-cache folios (after cp, decode maps them by 4 KiB pages)");
  auto files = std::make_shared<std::vector<std::string>>();
  auto check = std::make_shared<bool>(false);
  cmd->add_option("files", *files, "data files (.ptd) to cache")->required();
  cmd->add_flag("--check", *check, "only report how much of each file maps by 2 MiB pages");
  cmd->callback([files, check, exit_code] { *exit_code = RunCache(*files, *check); });
}

}  // namespace lorashare::tools

#include "runtime/data_files.h"

#include <algorithm>

namespace lorashare {
namespace {

std::string DescribeGiven(const std::vector<std::shared_ptr<const PtdFile>>& given) {
  if (given.empty()) return "no data file was given";
  std::string text = "given:";
  for (const auto& file : given) {
    text += fmt::format(" {} (fingerprint {})", file->path(), file->fingerprint());
  }
  return text;
}

}  // namespace

Result<std::vector<std::shared_ptr<const PtdFile>>> OpenDataFiles(
    const std::string& program_path, const ProgramSpec& spec,
    const std::vector<std::string>& paths) {
  std::vector<std::shared_ptr<const PtdFile>> given;
  for (const std::string& path : paths) {
    auto file = PtdFile::Open(path);
    if (!file.ok()) return file.error().WithContext(program_path);
    given.push_back(std::move(file).value());
  }
  std::vector<std::shared_ptr<const PtdFile>> ordered;
  for (const DataFileSpec& needed : spec.data_files) {
    auto it = std::find_if(given.begin(), given.end(), [&](const auto& file) {
      return file->fingerprint() == needed.fingerprint;
    });
    if (it == given.end()) {
      return MakeError(ErrorCode::kNotFound, "{}: needs {} data file '{}' with fingerprint {}; {}",
                       program_path,
                       needed.role == DataRole::kFoundation ? "foundation" : "adapter", needed.name,
                       needed.fingerprint, DescribeGiven(given));
    }
    ordered.push_back(*it);
  }
  for (const auto& file : given) {
    const bool needed =
        std::any_of(spec.data_files.begin(), spec.data_files.end(),
                    [&](const DataFileSpec& d) { return d.fingerprint == file->fingerprint(); });
    if (!needed) {
      return MakeError(ErrorCode::kMismatch,
                       "{}: data file {} (fingerprint {}) is not one the program was exported "
                       "with",
                       program_path, file->path(), file->fingerprint());
    }
  }
  return ordered;
}

}  // namespace lorashare

// Helpers shared by tests: temporary directories and running the CLI.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/output_file.h"

namespace lorashare::testing {

// A fresh directory under $TMPDIR, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "lorashare-test-XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

constexpr size_t kHugePage = size_t{2} << 20;  // x86-64's 2 MiB pages

inline uint64_t FileSize(const std::string& path) { return std::filesystem::file_size(path); }

inline std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void WriteBytes(const std::string& path, std::span<const uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Runs a shell command line, capturing its output.
inline CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    result.output.append(buffer.data(), n);
  }
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Runs the lorashare CLI with `args`.
inline CommandResult RunLorashare(const std::string& args) {
  return RunCommand(std::string(LORASHARE_BINARY) + " " + args);
}

// A CLI run with stdout and stderr kept apart.
struct SplitOutput {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string ShellQuote(std::string_view arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Runs the lorashare CLI with `args`, each one shell argument; stdout and
// stderr go through files in `scratch_dir`.
inline SplitOutput RunLorashareArgs(const std::vector<std::string>& args,
                                    const std::filesystem::path& scratch_dir) {
  std::string command = ShellQuote(LORASHARE_BINARY);
  for (const std::string& arg : args) command.append(" ").append(ShellQuote(arg));
  const std::filesystem::path out = scratch_dir / "stdout.txt", err = scratch_dir / "stderr.txt";
  command.append(" >").append(ShellQuote(out.string()));
  command.append(" 2>").append(ShellQuote(err.string()));
  const int status = std::system(command.c_str());
  SplitOutput result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  for (auto [file, text] : {std::pair{out, &result.out}, std::pair{err, &result.err}}) {
    auto bytes = ReadWholeFile(file.string());
    if (bytes.ok()) *text = std::move(bytes).value();
  }
  return result;
}

inline std::string SourceDir() { return LORASHARE_SOURCE_DIR; }

}  // namespace lorashare::testing

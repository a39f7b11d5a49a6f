#include "reference_data.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lorashare::testing {
namespace fs = std::filesystem;

std::string SourceDir() { return LORASHARE_SOURCE_DIR; }

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<int32_t> ParseIds(const std::string& text) {
  std::vector<int32_t> ids;
  std::istringstream in(text);
  for (int32_t id; in >> id;) ids.push_back(id);
  return ids;
}

const std::string& Llama3ReferenceDir() {
  static const std::string dir = [] {
    std::string npm = SourceDir() + "/third_party/npm/node_modules/llama3-tokenizer-js";
    if (!fs::exists(npm)) {
      ADD_FAILURE() << npm << " is missing: run scripts/setup.sh";
      return std::string();
    }
    std::string target = fs::absolute("llama3_reference").string();
    if (fs::exists(target + "/corpus.ids")) return target;
    // Built in a private directory and renamed into place, so concurrent test
    // processes never see a half-written one.
    std::string temp = fmt::format("{}.tmp{}", target, getpid());
    fs::create_directories(temp);
    std::string script = SourceDir() + "/tests/llm/llama3_reference.mjs";
    std::string command = fmt::format(
        "node {0} export {1} && node {0} corpus {1}/corpus.txt 1 && "
        "node {0} encode {1}/corpus.txt {1}/corpus.ids",
        script, temp);
    if (std::system(command.c_str()) != 0) {
      ADD_FAILURE() << "reference generation failed: " << command;
      return std::string();
    }
    std::error_code error;
    fs::rename(temp, target, error);
    if (error) fs::remove_all(temp);  // another process got there first
    return target;
  }();
  return dir;
}

std::string LlamaCppVocab(const std::string& name) {
  return SourceDir() + "/third_party/llama.cpp-src/models/ggml-vocab-" + name + ".gguf";
}

}  // namespace lorashare::testing

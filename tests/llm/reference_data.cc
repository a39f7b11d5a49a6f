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

namespace {

// Runs `command` (with {0} standing for a fresh directory) once per build
// tree: the result lands in `name` under the build tree's tests directory
// (wherever the test binary is run from, so nothing lands in the source
// tree), built in a private directory and renamed into place so that
// concurrent test processes never see a half-written one.
std::string GenerateOnce(const std::string& name, const std::string& needed,
                         const std::string& command) {
  if (!fs::exists(needed)) {
    ADD_FAILURE() << needed << " is missing: run scripts/setup.sh";
    return std::string();
  }
  std::string target = (fs::path(LORASHARE_TEST_DATA_DIR) / name).string();
  if (fs::exists(target + "/done")) return target;
  std::string temp = fmt::format("{}.tmp{}", target, getpid());
  fs::create_directories(temp);
  std::string line =
      fmt::vformat(command, fmt::make_format_args(temp)) + " && touch " + temp + "/done";
  if (std::system(line.c_str()) != 0) {
    ADD_FAILURE() << "reference generation failed: " << line;
    return std::string();
  }
  std::error_code error;
  fs::rename(temp, target, error);
  if (error) fs::remove_all(temp);  // another process got there first
  return target;
}

}  // namespace

const std::string& Llama3ReferenceDir() {
  static const std::string dir = [] {
    std::string node = "node " + SourceDir() + "/tests/llm/llama3_reference.mjs";
    return GenerateOnce("llama3_reference",
                        SourceDir() + "/third_party/npm/node_modules/llama3-tokenizer-js",
                        node + " export {0} && " + node + " corpus {0}/corpus.txt 1 && " + node +
                            " encode {0}/corpus.txt {0}/corpus.ids");
  }();
  return dir;
}

const std::string& Qwen2HfDir() {
  static const std::string dir =
      GenerateOnce("qwen2_hf", LlamaCppVocab("qwen2"),
                   "/usr/bin/python3 " + SourceDir() + "/tests/llm/gguf_to_hf.py " +
                       LlamaCppVocab("qwen2") + " {0}");
  return dir;
}

const std::string& SentencePieceReferenceDir() {
  static const std::string dir =
      GenerateOnce("sentencepiece_reference", Llama3ReferenceDir() + "/corpus.txt",
                   "/usr/bin/python3 " + SourceDir() + "/tests/llm/sentencepiece_reference.py " +
                       Llama3ReferenceDir() + "/corpus.txt {0}");
  return dir;
}

std::string LlamaCppVocab(const std::string& name) {
  return SourceDir() + "/third_party/llama.cpp-src/models/ggml-vocab-" + name + ".gguf";
}

}  // namespace lorashare::testing

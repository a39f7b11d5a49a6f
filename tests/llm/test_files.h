// Small files written by a test (and tokenizers loaded from them), in a
// directory of the test process's own:
// ctest runs the tests as parallel processes that share ::testing::TempDir(),
// so a fixed name there would be written by one test while another reads it.
#pragma once

#include <fstream>
#include <string>

#include "llm/tokenizer.h"
#include "test_util.h"

namespace lorashare::testing {

// Removed with its contents when the process exits.
inline std::string TestFilePath(const std::string& name) {
  static const TempDir dir;
  return dir / name;
}

inline std::string WriteTestFile(const std::string& name, const std::string& contents) {
  std::string path = TestFilePath(name);
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

// The error of loading a tokenizer from a file `name` holding `contents`
// ("loaded" if it loads).
inline std::string TokenizerLoadError(const std::string& name, const std::string& contents) {
  auto loaded = Tokenizer::Load(WriteTestFile(name, contents));
  return loaded.ok() ? "loaded" : loaded.error().message();
}

}  // namespace lorashare::testing

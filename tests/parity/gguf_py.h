// GGUF files read back by llama.cpp's own Python package (gguf-py, in
// third_party/llama.cpp-src) through tests/parity/gguf_dump.py.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "base/output_file.h"
#include "test_util.h"

namespace lorashare::testing {

inline bool HaveGgufPy() {
  return std::filesystem::exists(SourceDir() + "/third_party/llama.cpp-src/gguf-py/gguf");
}

// gguf_dump.py's JSON for `gguf` (`extra`: its further flags); null on failure.
inline nlohmann::json DumpGguf(const TempDir& dir, const std::string& gguf,
                               const std::string& extra = "") {
  const std::string out = dir / "dump.json";
  CommandResult result =
      RunCommand("/usr/bin/python3 " + SourceDir() + "/tests/parity/gguf_dump.py " + gguf + " " +
                 extra + " > " + out);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  auto text = ReadWholeFile(out);
  EXPECT_TRUE(text.ok());
  return text.ok() ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
}

inline const nlohmann::json* FindTensor(const nlohmann::json& dump, const std::string& name) {
  for (const nlohmann::json& tensor : dump["tensors"]) {
    if (tensor["name"] == name) return &tensor;
  }
  return nullptr;
}

}  // namespace lorashare::testing

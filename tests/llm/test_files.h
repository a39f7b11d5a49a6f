// Small files written by a test, removed with the test's temporary directory.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace lorashare::testing {

inline std::string WriteTestFile(const std::string& name, const std::string& contents) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

}  // namespace lorashare::testing

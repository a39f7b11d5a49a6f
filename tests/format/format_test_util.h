// Helpers shared by the format tests (beside tests/test_util.h): source
// paths, and reading files and little-endian fields.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "test_util.h"

namespace lorashare::testing {

inline std::string SourcePath(const std::string& relative) {
  return std::string(LORASHARE_SOURCE_DIR) + "/" + relative;
}

inline uint64_t LoadLe(const std::vector<uint8_t>& bytes, size_t at, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= uint64_t{bytes.at(at + i)} << (8 * i);
  return value;
}

inline void StoreLe(std::vector<uint8_t>& bytes, size_t at, uint64_t value, size_t width) {
  for (size_t i = 0; i < width; ++i) bytes.at(at + i) = static_cast<uint8_t>(value >> (8 * i));
}

}  // namespace lorashare::testing

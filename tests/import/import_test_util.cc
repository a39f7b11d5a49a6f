#include "import_test_util.h"

#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "base/sha256.h"

namespace lorashare::testing {

nlohmann::json RunPyRef(const std::vector<std::string>& args) {
  std::string command =
      fmt::format("/usr/bin/python3 '{}/tests/import/pyref.py'", LORASHARE_SOURCE_DIR);
  for (const std::string& arg : args) command += " '" + arg + "'";
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << command;
  if (pipe == nullptr) return nullptr;
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  int status = pclose(pipe);
  EXPECT_EQ(status, 0) << command;
  if (status != 0) return nullptr;
  return nlohmann::json::parse(output);
}

std::string Sha256Hex(std::span<const uint8_t> bytes) { return ToHex(Sha256Of(bytes)); }

void ExpectTensorsMatch(const std::vector<TensorRef>& tensors, const nlohmann::json& manifest) {
  ASSERT_TRUE(manifest.is_object());
  EXPECT_EQ(tensors.size(), manifest.size());
  for (const TensorRef& tensor : tensors) {
    SCOPED_TRACE(tensor.name);
    ASSERT_TRUE(manifest.contains(tensor.name));
    const auto& expected = manifest.at(tensor.name);
    EXPECT_EQ(DTypeName(tensor.dtype), expected.at("dtype").get<std::string>());
    EXPECT_EQ(tensor.shape, expected.at("shape").get<std::vector<int64_t>>());
    EXPECT_EQ(Sha256Hex(tensor.bytes), expected.at("sha256").get<std::string>());
  }
}

}  // namespace lorashare::testing

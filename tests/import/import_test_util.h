// Helpers for the importer tests (beside tests/test_util.h): running the
// independent Python reference (pyref.py) that writes and reads the formats.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "import/checkpoint.h"
#include "test_util.h"

namespace lorashare::testing {

// Runs `/usr/bin/python3 tests/import/pyref.py args...` and parses the JSON it
// prints. Fails the test (and returns null) if it exits non-zero.
nlohmann::json RunPyRef(const std::vector<std::string>& args);

std::string Sha256Hex(std::span<const uint8_t> bytes);

// Each manifest entry {dtype, shape, sha256} matches the tensor of that name,
// and `tensors` holds nothing else.
void ExpectTensorsMatch(const std::vector<TensorRef>& tensors, const nlohmann::json& manifest);

}  // namespace lorashare::testing

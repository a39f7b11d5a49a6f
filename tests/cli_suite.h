// CliSuite: a gtest suite whose tests share one scratch directory and run the
// lorashare CLI in it.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "test_util.h"

namespace lorashare::testing {

// The directory is made before the suite's first test and removed with its
// contents after the last. Derived is the suite itself, so that each suite has
// a directory of its own; a suite that makes files for all its tests defines
// its own SetUpTestSuite, which calls this one first.
template <class Derived>
class CliSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dir_ = std::make_unique<TempDir>(); }
  static void TearDownTestSuite() { dir_.reset(); }

  static std::string Path(const std::string& name) { return *dir_ / name; }
  static SplitOutput Lorashare(const std::vector<std::string>& args) {
    return RunLorashareArgs(args, dir_->path());
  }

 private:
  static inline std::unique_ptr<TempDir> dir_;
};

}  // namespace lorashare::testing

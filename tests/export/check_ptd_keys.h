// Runs check_ptd_keys.py, a reader of exported files that shares no code
// with lorashare, on a .ptd (and the .pte whose keys it must hold).
#pragma once

#include <string>

#include "test_util.h"

namespace lorashare::testing {

inline CommandResult CheckPtdKeys(const std::string& ptd, const std::string& pte = "") {
  const std::string src = SourceDir();
  std::string command = "/usr/bin/python3 " + src + "/tests/export/check_ptd_keys.py " + src +
                        "/src/format/flat_tensor.fbs " + ptd;
  if (!pte.empty()) command += " " + src + "/src/format/program.fbs " + pte;
  return RunCommand(command);
}

}  // namespace lorashare::testing

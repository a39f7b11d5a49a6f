// Matching the data files given by the user to the ones a program recorded.
//
// A program names every .ptd it needs with the fingerprint of that file's
// head (keys, layouts, segment positions). A wrong or stale file would feed
// the kernels the wrong bytes, so each needed file must be given, and every
// given file must be one of them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "format/program.h"
#include "format/ptd.h"

namespace lorashare {

// Opens `paths` and returns them in the order of spec.data_files. Errors name
// the program, the expected file and both fingerprints.
Result<std::vector<std::shared_ptr<const PtdFile>>> OpenDataFiles(
    const std::string& program_path, const ProgramSpec& spec,
    const std::vector<std::string>& paths);

}  // namespace lorashare

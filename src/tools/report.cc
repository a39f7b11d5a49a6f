#include "tools/report.h"

#include <cstdio>

namespace lorashare::tools {

int ReportError(const Error& error) {
  std::fprintf(stderr, "lorashare: error: %s\n", error.message().c_str());
  return error.code() == ErrorCode::kInvalidArgument ? 2 : 1;
}

}  // namespace lorashare::tools

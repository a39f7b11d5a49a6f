// Shared helpers for subcommands: sizes in MiB, reporting an Error and mapping
// it to an exit code.
#pragma once

#include "base/result.h"

namespace lorashare::tools {

constexpr double kMiB = 1024.0 * 1024.0;  // reports give sizes in MiB

// Prints "lorashare: error: <message>" to stderr and returns the exit code for
// the error (2 for invalid arguments, 1 otherwise).
int ReportError(const Error& error);

}  // namespace lorashare::tools

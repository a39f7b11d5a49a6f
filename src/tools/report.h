// Shared helpers for subcommands: reporting an Error and mapping it to an exit code.
#pragma once

#include "base/result.h"

namespace lorashare::tools {

// Prints "lorashare: error: <message>" to stderr and returns the exit code for
// the error (2 for invalid arguments, 1 otherwise).
int ReportError(const Error& error);

}  // namespace lorashare::tools

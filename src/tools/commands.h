// Subcommands of the `lorashare` CLI. Each Register* adds one subcommand to the
// app; its callback runs the command and stores the exit status in `*exit_code`.
// Exit codes: 0 success, 1 bad input data or failure, 2 bad usage (flags).
#pragma once

#include <CLI/CLI.hpp>

namespace lorashare::tools {

void RegisterRun(CLI::App& app, int* exit_code);
void RegisterDemo(CLI::App& app, int* exit_code);
void RegisterMakeTestModel(CLI::App& app, int* exit_code);
void RegisterExport(CLI::App& app, int* exit_code);
void RegisterInspect(CLI::App& app, int* exit_code);
void RegisterTokenize(CLI::App& app, int* exit_code);
void RegisterDetokenize(CLI::App& app, int* exit_code);
void RegisterBench(CLI::App& app, int* exit_code);
void RegisterQuality(CLI::App& app, int* exit_code);
void RegisterCache(CLI::App& app, int* exit_code);

}  // namespace lorashare::tools

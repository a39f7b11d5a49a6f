// lorashare: export LoRA fine-tunes of one foundation model into small programs
// over a shared weights file, run them, and show what they cost.
#include <cstdio>

#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"lorashare: many LoRA fine-tunes over one shared foundation model"};
  app.require_subcommand(1);
  int exit_code = 0;
  lorashare::tools::RegisterRun(app, &exit_code);
  lorashare::tools::RegisterDemo(app, &exit_code);
  lorashare::tools::RegisterMakeTestModel(app, &exit_code);
  lorashare::tools::RegisterExport(app, &exit_code);
  lorashare::tools::RegisterInspect(app, &exit_code);
  lorashare::tools::RegisterTokenize(app, &exit_code);
  lorashare::tools::RegisterDetokenize(app, &exit_code);
  lorashare::tools::RegisterBench(app, &exit_code);
  lorashare::tools::RegisterQuality(app, &exit_code);
  lorashare::tools::RegisterCache(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}

// Fuzzes the runtime's program check: any program the .pte parser accepts
// must give an execution plan or an error, never a crash. The executor relies
// on that check alone.
#include <cstddef>
#include <cstdint>

#include "format/program.h"
#include "runtime/plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto spec = lorashare::ProgramFile::Parse({data, size}, "fuzz.pte");
  if (spec.ok()) (void)lorashare::BuildPlan(spec.value(), "fuzz.pte");
  return 0;
}

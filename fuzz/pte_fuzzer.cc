// Fuzzes the .pte parser: any input must give a ProgramSpec or an error, never
// a crash or an out-of-bounds read.
#include <cstddef>
#include <cstdint>

#include "format/program.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)lorashare::ProgramFile::Parse({data, size}, "fuzz.pte");
  return 0;
}

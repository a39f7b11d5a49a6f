// Fuzzes the .ptd reader: any input must give OK or an error, never a crash
// or an out-of-bounds read.
#include <cstddef>
#include <cstdint>

#include "format/ptd.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)lorashare::PtdFile::Validate({data, size}, "fuzz.ptd");
  return 0;
}

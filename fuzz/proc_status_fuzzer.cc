// Fuzzes the /proc status parser behind the demo's RSS lines.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/memory_stats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (std::string_view field : {"VmRSS", "VmHWM", "Pss"}) {
    (void)lorashare::ParseProcKilobytes(text, field, "fuzz");
  }
  return 0;
}

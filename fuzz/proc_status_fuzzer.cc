// Fuzzes the /proc status and smaps parsers behind the demo's and bench's
// memory figures.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/memory_stats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (std::string_view field : {"VmRSS", "VmHWM", "Pss"}) {
    (void)lorashare::ParseProcKilobytes(text, field, "fuzz");
  }
  (void)lorashare::ParseSmapsRollup(text, "fuzz");
  // An address from the input's first bytes, so mappings of any range match.
  uintptr_t address = 0;
  for (size_t i = 0; i < size && i < sizeof(address); ++i) address = address << 8 | data[i];
  (void)lorashare::ParseSmapsMappingAt(text, address, "fuzz");
  return 0;
}

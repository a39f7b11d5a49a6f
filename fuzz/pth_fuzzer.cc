// Fuzzes the torch.save reader (zip directory, ZIP64, pickle machine): any
// input must yield tensors inside the input, or an error.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "import/pickle.h"
#include "import/torch_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  // The pickle machine alone, so inputs need not be zips to reach it.
  (void)lorashare::Unpickle(bytes, "fuzz.pkl");
  auto archive = lorashare::TorchArchive::Parse(bytes, "fuzz.pth", nullptr);
  if (!archive.ok()) return 0;
  for (const auto& tensor : archive->tensors()) {
    if (tensor.bytes.data() < data || tensor.bytes.data() + tensor.bytes.size() > data + size) {
      abort();
    }
  }
  return 0;
}

#include "runtime/data_map.h"

#include <algorithm>

namespace lorashare {

Status DataMap::Add(std::shared_ptr<const PtdFile> file) {
  for (const PtdEntry& entry : file->entries()) {
    const Found known = Find(entry.key);
    if (known.file == nullptr) continue;
    const auto a = known.file->Bytes(*known.entry);
    const auto b = file->Bytes(entry);
    if (!std::equal(a.begin(), a.end(), b.begin(), b.end())) {
      return MakeError(ErrorCode::kMismatch,
                       "data files {} and {} both hold key '{}' with different bytes ({} and {} "
                       "bytes)",
                       known.file->path(), file->path(), entry.key, a.size(), b.size());
    }
  }
  for (const PtdEntry& entry : file->entries()) {
    index_.try_emplace(entry.key, Found{file.get(), &entry});
  }
  files_.push_back(std::move(file));
  return OkStatus();
}

DataMap::Found DataMap::Find(std::string_view key) const {
  auto it = index_.find(key);
  return it == index_.end() ? Found{} : it->second;
}

}  // namespace lorashare

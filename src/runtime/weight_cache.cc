#include "runtime/weight_cache.h"

#include <functional>

namespace lorashare {

WeightCache& WeightCache::Global() {
  // Never destroyed: weights may be released by static destructors elsewhere.
  static auto* cache = new WeightCache;
  return *cache;
}

size_t WeightCache::KeyHash::operator()(const Key& key) const {
  size_t hash = std::hash<std::string>()(key.key);
  for (uint64_t part :
       {static_cast<uint64_t>(key.file.device), static_cast<uint64_t>(key.file.inode),
        key.file.size, static_cast<uint64_t>(key.file.mtime_ns),
        static_cast<uint64_t>(key.format)}) {
    hash ^= std::hash<uint64_t>()(part) + 0x9e3779b97f4a7c15ull + (hash << 6) + (hash >> 2);
  }
  return hash;
}

std::shared_ptr<const Weight> WeightCache::Get(const WeightSource& source, std::string_view key,
                                               KernelFormat format) {
  Key cache_key{source.mapping->identity(), std::string(key),
                CanonicalFormat(format, source.dtype)};
  std::lock_guard<std::mutex> lock(mutex_);
  auto& slot = entries_[cache_key];
  if (auto existing = slot.lock()) return existing;
  std::unique_ptr<Weight> made = Weight::Make(source, cache_key.format, false);
  if (made->is_copy()) copied_bytes_ += made->nbytes();
  std::shared_ptr<const Weight> shared(
      made.release(), [this, cache_key](const Weight* weight) { Release(cache_key, weight); });
  slot = shared;
  return shared;
}

void WeightCache::Release(const Key& key, const Weight* weight) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    // A new entry may already have replaced the expired one under this key.
    if (it != entries_.end() && it->second.expired()) entries_.erase(it);
    if (weight->is_copy()) copied_bytes_ -= weight->nbytes();
  }
  delete weight;
}

size_t WeightCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

uint64_t WeightCache::copied_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return copied_bytes_;
}

}  // namespace lorashare

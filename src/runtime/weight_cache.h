// WeightCache: the process-wide table of weights shared between loaded models.
//
// Keyed by (file identity, content key, kernel format): two models that load
// the same .ptd (even through different paths or separate mappings) get the
// same Weight, so a foundation tensor exists once in memory whether it is a
// view into the mapping or a converted copy. Entries are reference-counted by
// the models holding them; the last release frees the weight and its entry.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/mapped_file.h"
#include "runtime/weight.h"

namespace lorashare {

class WeightCache {
 public:
  static WeightCache& Global();

  // The shared weight for `key` of the file behind `source.mapping` (which must
  // be set) in `format`, made on first use.
  std::shared_ptr<const Weight> Get(const WeightSource& source, std::string_view key,
                                    KernelFormat format);

  // Live entries, and the bytes of those that are copies (not views).
  size_t size() const;
  uint64_t copied_bytes() const;

 private:
  struct Key {
    FileIdentity file;
    std::string key;
    KernelFormat format;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& key) const;
  };

  void Release(const Key& key, const Weight* weight);

  mutable std::mutex mutex_;
  std::unordered_map<Key, std::weak_ptr<const Weight>, KeyHash> entries_;
  uint64_t copied_bytes_ = 0;
};

}  // namespace lorashare

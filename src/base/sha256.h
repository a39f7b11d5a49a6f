// SHA-256 (OpenSSL), used for content-derived keys and file fingerprints.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace lorashare {

using Sha256Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::span<const uint8_t> bytes);
  void Update(std::string_view text) {
    Update({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }
  Sha256Digest Finish();

 private:
  void* context_;  // EVP_MD_CTX*
};

Sha256Digest Sha256Of(std::span<const uint8_t> bytes);
std::string ToHex(std::span<const uint8_t> bytes);

}  // namespace lorashare

#include "testmodel/gguf_quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/half.h"

namespace lorashare {
namespace {

constexpr int64_t kBlock = 32;  // QK8_0 == QK4_0

uint16_t LoadHalf(const uint8_t* bytes) {
  uint16_t half;
  std::memcpy(&half, bytes, sizeof(half));
  return half;
}

void StoreHalf(uint16_t half, uint8_t* bytes) { std::memcpy(bytes, &half, sizeof(half)); }

void EncodeQ8_0(const float* x, uint8_t* block) {
  float amax = 0.0f;
  for (int64_t j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  StoreHalf(F32ToF16(d), block);
  for (int64_t j = 0; j < kBlock; ++j) {
    block[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::round(x[j] * id)));
  }
}

void DecodeQ8_0(const uint8_t* block, float* y) {
  const float d = F16ToF32(LoadHalf(block));
  for (int64_t j = 0; j < kBlock; ++j)
    y[j] = d * static_cast<float>(static_cast<int8_t>(block[2 + j]));
}

void EncodeQ4_0(const float* x, uint8_t* block) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int64_t j = 0; j < kBlock; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  const float d = max / -8;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  StoreHalf(F32ToF16(d), block);
  auto nibble = [id](float value) {
    return static_cast<uint8_t>(
        std::min(15, static_cast<int>(static_cast<int8_t>(value * id + 8.5f))));
  };
  for (int64_t j = 0; j < kBlock / 2; ++j) {
    block[2 + j] = static_cast<uint8_t>(nibble(x[j]) | (nibble(x[j + kBlock / 2]) << 4));
  }
}

void DecodeQ4_0(const uint8_t* block, float* y) {
  const float d = F16ToF32(LoadHalf(block));
  for (int64_t j = 0; j < kBlock / 2; ++j) {
    const uint8_t byte = block[2 + j];
    y[j] = d * static_cast<float>((byte & 0x0F) - 8);
    y[j + kBlock / 2] = d * static_cast<float>((byte >> 4) - 8);
  }
}

}  // namespace

std::string_view GgmlTypeName(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
      return "f32";
    case GgmlType::kF16:
      return "f16";
    case GgmlType::kQ4_0:
      return "q4_0";
    case GgmlType::kQ8_0:
      return "q8_0";
  }
  return "unknown";
}

std::optional<GgmlType> GgmlTypeFromName(std::string_view name) {
  for (GgmlType type : {GgmlType::kF32, GgmlType::kF16, GgmlType::kQ8_0, GgmlType::kQ4_0}) {
    if (GgmlTypeName(type) == name) return type;
  }
  return std::nullopt;
}

int64_t GgmlBlockElements(GgmlType type) {
  return type == GgmlType::kQ4_0 || type == GgmlType::kQ8_0 ? kBlock : 1;
}

int64_t GgmlBlockBytes(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
      return 4;
    case GgmlType::kF16:
      return 2;
    case GgmlType::kQ4_0:
      return 2 + kBlock / 2;
    case GgmlType::kQ8_0:
      return 2 + kBlock;
  }
  return 0;
}

int64_t GgmlRowBytes(GgmlType type, int64_t row_elements) {
  return row_elements / GgmlBlockElements(type) * GgmlBlockBytes(type);
}

Result<std::vector<uint8_t>> GgmlEncode(GgmlType type, std::span<const float> values) {
  const int64_t block = GgmlBlockElements(type);
  const int64_t count = static_cast<int64_t>(values.size());
  if (count % block != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "{} needs a multiple of {} values, got {}",
                     GgmlTypeName(type), block, count);
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(GgmlRowBytes(type, count)));
  if (type == GgmlType::kF32) {
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return bytes;
  }
  const int64_t block_bytes = GgmlBlockBytes(type);
  for (int64_t i = 0; i < count / block; ++i) {
    const float* x = values.data() + i * block;
    uint8_t* out = bytes.data() + i * block_bytes;
    switch (type) {
      case GgmlType::kF32:  // copied whole above
        break;
      case GgmlType::kF16:
        StoreHalf(F32ToF16(*x), out);
        break;
      case GgmlType::kQ4_0:
        EncodeQ4_0(x, out);
        break;
      case GgmlType::kQ8_0:
        EncodeQ8_0(x, out);
        break;
    }
  }
  return bytes;
}

Result<std::vector<float>> GgmlDecode(GgmlType type, std::span<const uint8_t> bytes) {
  const int64_t block_bytes = GgmlBlockBytes(type);
  const int64_t size = static_cast<int64_t>(bytes.size());
  if (size % block_bytes != 0) {
    return MakeError(ErrorCode::kCorrupt,
                     "{} data of {} bytes is not a whole number of {}-byte blocks",
                     GgmlTypeName(type), size, block_bytes);
  }
  const int64_t block = GgmlBlockElements(type);
  std::vector<float> values(static_cast<size_t>(size / block_bytes * block));
  for (int64_t i = 0; i < size / block_bytes; ++i) {
    const uint8_t* in = bytes.data() + i * block_bytes;
    float* y = values.data() + i * block;
    switch (type) {
      case GgmlType::kF32:
        std::memcpy(y, in, sizeof(float));
        break;
      case GgmlType::kF16:
        *y = F16ToF32(LoadHalf(in));
        break;
      case GgmlType::kQ4_0:
        DecodeQ4_0(in, y);
        break;
      case GgmlType::kQ8_0:
        DecodeQ8_0(in, y);
        break;
    }
  }
  return values;
}

}  // namespace lorashare

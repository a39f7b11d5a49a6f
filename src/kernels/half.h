// Scalar conversions between f32 and the 16-bit float formats (IEEE binary16
// and bfloat16). They are the reference the SIMD conversions are tested
// against, and the fallback for tails shorter than a vector.
#pragma once

#include <cstdint>
#include <cstring>

namespace lorashare {

inline float BitsToF32(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

inline uint32_t F32ToBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

inline float BF16ToF32(uint16_t bf16) { return BitsToF32(static_cast<uint32_t>(bf16) << 16); }

// Round to nearest even; NaN stays NaN (quiet).
inline uint16_t F32ToBF16(float value) {
  uint32_t bits = F32ToBits(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

inline float F16ToF32(uint16_t f16) {
  const uint32_t sign = static_cast<uint32_t>(f16 & 0x8000u) << 16;
  const uint32_t exponent = (f16 >> 10) & 0x1fu;
  const uint32_t mantissa = f16 & 0x3ffu;
  if (exponent == 0x1f) return BitsToF32(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0) return BitsToF32(sign | ((exponent + 112) << 23) | (mantissa << 13));
  // Subnormal (or zero): mantissa * 2^-24, exact in f32.
  const float magnitude = static_cast<float>(mantissa) * BitsToF32(0x33800000u);
  return sign ? -magnitude : magnitude;
}

// Round to nearest even, with overflow to infinity and gradual underflow.
inline uint16_t F32ToF16(float value) {
  const uint32_t bits = F32ToBits(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs_bits = bits & 0x7fffffffu;
  if (abs_bits > 0x7f800000u) return sign | 0x7e00u;   // NaN
  if (abs_bits >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65520: infinity
  if (abs_bits < 0x38800000u) {
    // Below the smallest normal half: scale to units of 2^-24 and round.
    const float scaled = BitsToF32(abs_bits) * 16777216.0f;
    const uint32_t units = static_cast<uint32_t>(scaled);
    const float rest = scaled - static_cast<float>(units);
    uint32_t rounded = units + ((rest > 0.5f || (rest == 0.5f && (units & 1u))) ? 1u : 0u);
    return sign | static_cast<uint16_t>(rounded);
  }
  const uint32_t rebased = abs_bits - (112u << 23);
  const uint32_t rounded = rebased + 0xfffu + ((rebased >> 13) & 1u);
  return sign | static_cast<uint16_t>(rounded >> 13);
}

}  // namespace lorashare

// Element-wise kernels over n floats: SwiGLU's gate and residual addition.
// Outputs may alias an input.
#pragma once

#include <cstddef>

namespace lorashare {

// y = silu(gate) * up, silu(g) = g / (1 + exp(-g)).
void SwiGlu(const float* gate, const float* up, size_t n, float* y);
void SwiGluReference(const float* gate, const float* up, size_t n, float* y);

// y = a + b.
void Add(const float* a, const float* b, size_t n, float* y);
void AddReference(const float* a, const float* b, size_t n, float* y);

}  // namespace lorashare

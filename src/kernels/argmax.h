// ArgMax over a model's logits: greedy decoding takes one per token, over the
// whole vocabulary (128,256 floats for Llama 3). std::max_element carries its
// running maximum from element to element: 78 us at -O3 (420 at -O2), 0.5-1%
// of a decoded token here. This kernel takes the maximum over vectors in
// independent chains, then finds its first position: 6 us.
#pragma once

#include <cstddef>

namespace lorashare {

// Index of the largest of x[0, n): the lowest among equal maxima. NaN is
// never the largest; 0 when every value is NaN or n is 0.
size_t ArgMax(const float* x, size_t n);
size_t ArgMaxReference(const float* x, size_t n);

}  // namespace lorashare

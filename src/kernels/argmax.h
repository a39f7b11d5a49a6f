// ArgMax over a model's logits: greedy decoding takes one per token, over the
// whole vocabulary (128,256 floats for Llama 3). A plain scalar loop carries
// its running maximum from element to element and took about 0.4 ms, 1-3%
// of a decoded token here; this kernel takes the maximum over vectors in
// independent chains, then finds its first position.
#pragma once

#include <cstddef>

namespace lorashare {

// Index of the largest of x[0, n): the lowest among equal maxima. NaN is
// never the largest; 0 when every value is NaN or n is 0.
size_t ArgMax(const float* x, size_t n);
size_t ArgMaxReference(const float* x, size_t n);

}  // namespace lorashare

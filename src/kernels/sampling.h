// Kernels over a model's logits that pick the next token: each runs once per
// decoded token, over the whole vocabulary (128,256 floats for Llama 3).
//
// ArgMax: greedy decoding's pick. std::max_element carries its
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

// Temperature sampling's weights: weights[i] = exp((logits[i] - max_logit) *
// inverse_temperature) in double, so tiny probabilities keep their order;
// returns their sum. Vectors of doubles through Highway's exp: std::exp one
// at a time took 0.5 ms, 4% of a token decoded at 80 tok/s.
double ExpWeights(const float* logits, size_t n, float max_logit, double inverse_temperature,
                  double* weights);
double ExpWeightsReference(const float* logits, size_t n, float max_logit,
                           double inverse_temperature, double* weights);

}  // namespace lorashare

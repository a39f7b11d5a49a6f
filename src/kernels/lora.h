// LoRA, unfused: y += scale * (x A^T) B^T, with A (rank, in) and B (out, rank)
// in any matmul dtype. The scale is folded into the second product, so the
// frozen W x is never touched and nothing is merged.
#pragma once

#include <cstdint>

#include "kernels/matrix.h"
#include "kernels/thread_pool.h"

namespace lorashare {

struct LoraArgs {
  const float* x = nullptr;  // [n, in]
  int64_t x_stride = 0;
  float* y = nullptr;  // [n, out], accumulated into
  int64_t y_stride = 0;
  int64_t n = 0;
  float scale = 1.0f;
  float* scratch = nullptr;  // [n, rank]
};

void Lora(const MatrixView& a, const MatrixView& b, const LoraArgs& args, ThreadPool* pool);
void LoraReference(const MatrixView& a, const MatrixView& b, const LoraArgs& args);

}  // namespace lorashare

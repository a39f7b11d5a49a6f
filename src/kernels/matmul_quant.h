// MatMul on the packed quantized layouts (format/weight_layout.h), with the
// activations quantized per token to int8 as kernels/quantize.h defines.
// MatMul() dispatches here for every layout other than kPlain.
#pragma once

#include "kernels/matmul.h"
#include "kernels/matrix.h"
#include "kernels/thread_pool.h"

namespace lorashare {

// MatMulSameInput for packed weights.
void MatMulQuantized(std::span<const MatMulJob> jobs, ThreadPool* pool);

}  // namespace lorashare

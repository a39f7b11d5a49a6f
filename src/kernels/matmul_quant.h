// MatMul on the packed quantized layouts (format/weight_layout.h), with the
// activations quantized per token to int8 as kernels/quantize.h defines.
// MatMul() dispatches here for every layout other than kPlain.
#pragma once

#include "kernels/matmul.h"
#include "kernels/matrix.h"
#include "kernels/thread_pool.h"

namespace lorashare {

// The hooks of a MatMulSameInput pass, for each thread's ranges: the jobs'
// prologues first, then rows_done once the prologue is complete.
inline void RunPrologues(std::span<const MatMulJob> jobs) {
  for (const MatMulJob& job : jobs) {
    if (job.args.prologue != nullptr) job.args.prologue->Run();
  }
}
inline void RowsDone(const MatMulArgs& args, int64_t begin, int64_t end) {
  if (args.rows_done == nullptr) return;
  if (args.prologue != nullptr) args.prologue->Wait();
  (*args.rows_done)(begin, end);
}

// MatMulSameInput for packed weights.
void MatMulQuantized(std::span<const MatMulJob> jobs, ThreadPool* pool);

}  // namespace lorashare

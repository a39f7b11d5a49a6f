// LoRA, unfused: y += scale * (x A^T) B^T, with A (rank, in) and B (out, rank)
// in any plain matmul dtype, B row-major or kTiled. The scale is folded into the second product, so
// the frozen W x is never touched and nothing is merged.
//
// The two products are separate calls so that LoRA layers reading one input
// (q and v read the same normed x) can share the first: LoraDownGroup runs
// all their A products as one parallel pass (the rows of every A split
// across the pool, each A read in place) into their columns of one scratch,
// then each member's LoraUp reads its own columns. The runtime runs the A
// rows (LoraDownRows) as the prologue of the adapted matmul's pass and the B
// rows (LoraUpRows) in it, so an adapter adds no pass.
#pragma once

#include <cstdint>
#include <span>

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
  float* scratch = nullptr;    // t = x A^T: [n, rank], rows scratch_stride apart
  int64_t scratch_stride = 0;  // 0: the rank (a scratch of its own)
};

// scratch = x A^T.
void LoraDown(const MatrixView& a, const LoraArgs& args, ThreadPool* pool);
// For every member m: scratch columns [offsets[m], offsets[m] + a[m].rows)
// = x a[m]^T. Plain A matrices of one input width, any matmul dtypes.
void LoraDownGroup(std::span<const MatrixView> a, std::span<const int64_t> offsets,
                   const LoraArgs& args, ThreadPool* pool);
// LoraDownGroup's rows [row_begin, row_end) of the members' A matrices
// taken end to end, on the calling thread (a MatMulPrologue's unit).
void LoraDownRows(std::span<const MatrixView> a, std::span<const int64_t> offsets,
                  const LoraArgs& args, int64_t row_begin, int64_t row_end);
// y += scale * scratch B^T (B's rank columns of the scratch).
void LoraUp(const MatrixView& b, const LoraArgs& args, ThreadPool* pool);
// LoraUp for output rows [begin, end) only, on the calling thread: run from
// the base matmul's MatMulArgs::rows_done, it adds the B product in that
// matmul's parallel pass. A kTiled B needs begin on a tile boundary, as the
// matmul's row ranges are.
void LoraUpRows(const MatrixView& b, const LoraArgs& args, int64_t begin, int64_t end);
// Both.
void Lora(const MatrixView& a, const MatrixView& b, const LoraArgs& args, ThreadPool* pool);
void LoraReference(const MatrixView& a, const MatrixView& b, const LoraArgs& args);

}  // namespace lorashare

// MatMul: y[n, out] = scale * x[n, in] W[out, in]^T (+ y when accumulating).
//
// W is f32, bf16 or f16 (converted to f32 in registers, never in memory), or
// a packed quantized blob (w.layout kQ8Row / kQ4Group, format/weight_layout.h)
// for which x is quantized per token to int8 as kernels/quantize.h defines
// and the products are integer (kernels/matmul_quant.h). For one token it is
// a GEMV; for several (prefill) a blocked GEMM that reads each weight row
// once per block of tokens. Output rows are split across the pool.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>

#include "kernels/matrix.h"
#include "kernels/thread_pool.h"

namespace lorashare {

// Work a MatMul pass runs before its rows, by whichever of its threads
// arrive, units [0, count) handed out one at a time; the pass calls no
// rows_done before every unit is done. A LoRA group's A products are the
// prologue of the pass whose rows_done adds their B products: one pass
// instead of two, and no handoff between them.
class MatMulPrologue {
 public:
  MatMulPrologue(int64_t count, std::function<void(int64_t)> unit)
      : count_(count), unit_(std::move(unit)) {}
  MatMulPrologue(const MatMulPrologue&) = delete;
  MatMulPrologue& operator=(const MatMulPrologue&) = delete;

  // Runs units until none is left unclaimed.
  void Run();
  // Returns once every unit is done. Only after Run: then every unit is
  // claimed by a thread that is running it.
  void Wait() const;

 private:
  const int64_t count_;
  const std::function<void(int64_t)> unit_;
  std::atomic<int64_t> next_{0};
  std::atomic<int64_t> done_{0};
};

struct MatMulArgs {
  const float* x = nullptr;  // [n, w.cols], rows x_stride apart
  int64_t n = 0;
  int64_t x_stride = 0;
  float* y = nullptr;  // [n, w.rows], rows y_stride apart
  int64_t y_stride = 0;
  float scale = 1.0f;
  bool accumulate = false;  // y += scale * x W^T instead of y = scale * x W^T
  // Called, when not null, with each range of output rows [begin, end) by the
  // thread that computed them, once they hold x W^T for every token: the
  // caller adds to those rows in the same parallel pass (a LoRA B product)
  // instead of a pass of its own.
  const std::function<void(int64_t, int64_t)>* rows_done = nullptr;
  // Run, when not null, by each thread of the pass before its first rows,
  // and complete before any rows_done; the jobs of a MatMulSameInput may
  // share one.
  MatMulPrologue* prologue = nullptr;
};

// One matmul of a batch that shares its input.
struct MatMulJob {
  MatrixView w;
  MatMulArgs args;
};

// Highway version, dynamically dispatched to the best target of this CPU.
void MatMul(const MatrixView& w, const MatMulArgs& args, ThreadPool* pool);

// Output rows [row_begin, row_end) of a plain or kTiled matmul (kTiled:
// row_begin on a tile boundary), on the calling thread.
void MatMulRowRange(const MatrixView& w, const MatMulArgs& args, int64_t row_begin,
                    int64_t row_end);

// Matmuls of one input (the same x, n and x_stride: a layer's q, k and v)
// in one parallel pass over all their rows, so the pool hands off once and
// small matrices join one stream; packed weights quantize x once. Every w
// shares layout, dtype, cols and group size, and has at least one row.
void MatMulSameInput(std::span<const MatMulJob> jobs, ThreadPool* pool);

// Plain scalar loops (double accumulation): the test reference. Quantized
// layouts: MatMulQuantizedReference (kernels/quantize.h).
void MatMulReference(const MatrixView& w, const MatMulArgs& args);

}  // namespace lorashare

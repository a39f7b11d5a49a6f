#include "kernels/lora.h"

#include "kernels/matmul.h"

namespace lorashare {
namespace {

MatMulArgs Down(const MatrixView& a, const LoraArgs& args) {
  return {
      .x = args.x, .n = args.n, .x_stride = args.x_stride, .y = args.scratch, .y_stride = a.rows};
}

MatMulArgs Up(const MatrixView& a, const LoraArgs& args) {
  return {.x = args.scratch,
          .n = args.n,
          .x_stride = a.rows,
          .y = args.y,
          .y_stride = args.y_stride,
          .scale = args.scale,
          .accumulate = true};
}

}  // namespace

void Lora(const MatrixView& a, const MatrixView& b, const LoraArgs& args, ThreadPool* pool) {
  MatMul(a, Down(a, args), pool);
  MatMul(b, Up(a, args), pool);
}

void LoraReference(const MatrixView& a, const MatrixView& b, const LoraArgs& args) {
  MatMulReference(a, Down(a, args));
  MatMulReference(b, Up(a, args));
}

}  // namespace lorashare

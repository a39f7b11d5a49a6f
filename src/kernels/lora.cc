#include "kernels/lora.h"

#include <algorithm>
#include <vector>

#include "kernels/matmul.h"

namespace lorashare {
namespace {

int64_t ScratchStride(const LoraArgs& args, int64_t rank) {
  return args.scratch_stride != 0 ? args.scratch_stride : rank;
}

MatMulArgs Down(const MatrixView& a, const LoraArgs& args) {
  return {.x = args.x,
          .n = args.n,
          .x_stride = args.x_stride,
          .y = args.scratch,
          .y_stride = ScratchStride(args, a.rows)};
}

MatMulArgs Up(const MatrixView& b, const LoraArgs& args) {
  return {.x = args.scratch,
          .n = args.n,
          .x_stride = ScratchStride(args, b.cols),
          .y = args.y,
          .y_stride = args.y_stride,
          .scale = args.scale,
          .accumulate = true};
}

}  // namespace

void LoraDown(const MatrixView& a, const LoraArgs& args, ThreadPool* pool) {
  MatMul(a, Down(a, args), pool);
}

void LoraDownRows(std::span<const MatrixView> a, std::span<const int64_t> offsets,
                  const LoraArgs& args, int64_t row_begin, int64_t row_end) {
  std::vector<int64_t> parts(offsets.begin(), offsets.end());
  parts.push_back(offsets.back() + a.back().rows);
  ForEachPart(parts, row_begin, row_end, [&](size_t m, int64_t first, int64_t last) {
    MatMulArgs down = Down(a[m], args);
    down.y = args.scratch + offsets[m];
    MatMulRowRange(a[m], down, first, last);
  });
}

void LoraDownGroup(std::span<const MatrixView> a, std::span<const int64_t> offsets,
                   const LoraArgs& args, ThreadPool* pool) {
  ParallelFor(
      pool, offsets.back() + a.back().rows,
      [&](int64_t begin, int64_t end) { LoraDownRows(a, offsets, args, begin, end); }, 16);
}

void LoraUp(const MatrixView& b, const LoraArgs& args, ThreadPool* pool) {
  MatMul(b, Up(b, args), pool);
}

void LoraUpRows(const MatrixView& b, const LoraArgs& args, int64_t begin, int64_t end) {
  MatMulRowRange(b, Up(b, args), begin, end);
}

void Lora(const MatrixView& a, const MatrixView& b, const LoraArgs& args, ThreadPool* pool) {
  LoraDown(a, args, pool);
  LoraUp(b, args, pool);
}

void LoraReference(const MatrixView& a, const MatrixView& b, const LoraArgs& args) {
  MatMulReference(a, Down(a, args));
  MatMulReference(b, Up(b, args));
}

}  // namespace lorashare

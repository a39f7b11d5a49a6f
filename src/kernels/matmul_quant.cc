#include "kernels/matmul_quant.h"

#include <cstring>
#include <vector>

#include "kernels/half.h"
#include "kernels/quantize.h"

namespace lorashare {

void MatMulQuantized(const MatrixView& w, const MatMulArgs& a, ThreadPool* pool) {
  if (a.n <= 0 || w.rows <= 0) return;
  const PackedGeometry g = PackedGeometryFor(w.layout, w.rows, w.cols, w.group_size).value();
  thread_local std::vector<int8_t> xq;
  thread_local std::vector<float> sx;
  xq.resize(a.n * g.padded_cols);
  sx.resize(a.n);
  for (int64_t t = 0; t < a.n; ++t) {
    sx[t] = QuantizeActivationRow(a.x + t * a.x_stride, w.cols, g.padded_cols,
                                  xq.data() + t * g.padded_cols);
  }
  const auto* blob = static_cast<const uint8_t*>(w.data);
  const int8_t* x = xq.data();
  const float* sxs = sx.data();
  ParallelFor(
      pool, w.rows,
      [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const uint8_t* values = blob + r * g.row_bytes;
          for (int64_t t = 0; t < a.n; ++t) {
            const int8_t* xt = x + t * g.padded_cols;
            float sum = 0;
            if (w.layout == WeightLayout::kQ8Row) {
              const auto* q = reinterpret_cast<const int8_t*>(values);
              int32_t isum = 0;
              for (int64_t c = 0; c < g.padded_cols; ++c) isum += q[c] * xt[c];
              float scale;
              std::memcpy(&scale, blob + g.scales_offset + r * 4, 4);
              sum = scale * static_cast<float>(isum);
            } else {
              for (int64_t group = 0; group < g.groups_per_row(); ++group) {
                int32_t isum = 0;
                for (int64_t c = group * g.group_size; c < (group + 1) * g.group_size; ++c) {
                  const uint8_t byte = values[c / 128 * 64 + c % 64];
                  isum += ((c % 128 >= 64 ? byte >> 4 : byte & 0xF) - 8) * xt[c];
                }
                uint16_t bits;
                std::memcpy(&bits, blob + g.scales_offset + (r * g.groups_per_row() + group) * 2,
                            2);
                sum += F16ToF32(bits) * static_cast<float>(isum);
              }
            }
            float& out = a.y[t * a.y_stride + r];
            const float value = a.scale * sxs[t] * sum;
            out = a.accumulate ? out + value : value;
          }
        }
      },
      16);
}

}  // namespace lorashare

#include "kernels/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/half.h"

namespace lorashare {
namespace {

// The geometry of a view already validated when its tensor was loaded.
PackedGeometry GeometryOf(const MatrixView& w) {
  return PackedGeometryFor(w.layout, w.rows, w.cols, w.group_size).value();
}

const uint8_t* Blob(const MatrixView& w) { return static_cast<const uint8_t*>(w.data); }

int Q4At(const PackedGeometry& g, const uint8_t* blob, int64_t row, int64_t c) {
  const uint8_t byte = blob[Q4NibbleByte(g, row, c)];
  return (Q4NibbleIsHigh(c) ? byte >> 4 : byte & 0xF) - 8;
}

float Q4Scale(const PackedGeometry& g, const uint8_t* blob, int64_t row, int64_t group) {
  uint16_t bits;
  std::memcpy(&bits, blob + Q4ScaleByte(g, row, group), 2);
  return F16ToF32(bits);
}

int Q8At(const PackedGeometry& g, const uint8_t* blob, int64_t row, int64_t c) {
  return static_cast<int8_t>(blob[Q8Byte(g, row, c)]);
}

float Q8Scale(const PackedGeometry& g, const uint8_t* blob, int64_t row) {
  float scale;
  std::memcpy(&scale, blob + g.scales_offset + row * sizeof(float), sizeof(float));
  return scale;
}

void PackQ8Row(const float* w, const PackedGeometry& g, uint8_t* blob) {
  for (int64_t r = 0; r < g.rows; ++r) {
    const float* src = w + r * g.cols;
    float amax = 0;
    for (int64_t c = 0; c < g.cols; ++c) amax = std::max(amax, std::fabs(src[c]));
    const float scale = amax / 127.0f;
    const float inv = scale != 0 ? 1.0f / scale : 0.0f;
    int32_t sum = 0;
    for (int64_t c = 0; c < g.cols; ++c) {
      const auto q = static_cast<int8_t>(std::clamp(std::nearbyint(src[c] * inv), -127.0f, 127.0f));
      blob[Q8Byte(g, r, c)] = static_cast<uint8_t>(q);
      sum += q;
    }
    std::memcpy(blob + g.scales_offset + r * sizeof(float), &scale, sizeof(scale));
    std::memcpy(blob + g.sums_offset + r * sizeof(int32_t), &sum, sizeof(sum));
  }
}

void PackQ4Group(const float* w, const PackedGeometry& g, uint8_t* blob) {
  // u4 = 8 is q = 0 in both nibbles: padded rows and columns hold it (with
  // scale 0, the blob's initial value).
  std::memset(blob, 0x88, static_cast<size_t>(g.padded_rows) * g.row_bytes);
  for (int64_t r = 0; r < g.rows; ++r) {
    const float* src = w + r * g.cols;
    for (int64_t group = 0; group < g.groups_per_row(); ++group) {
      const int64_t begin = group * g.group_size;
      const int64_t end = std::min(g.cols, begin + g.group_size);
      float m = 0;
      for (int64_t c = begin; c < end; ++c) {
        if (std::fabs(src[c]) > std::fabs(m)) m = src[c];
      }
      const uint16_t scale_bits = F32ToF16(-m / 8.0f);
      std::memcpy(blob + Q4ScaleByte(g, r, group), &scale_bits, 2);
      const float scale = F16ToF32(scale_bits);
      const float inv = scale != 0 ? 1.0f / scale : 0.0f;
      for (int64_t c = begin; c < end; ++c) {
        const int q = static_cast<int>(std::clamp(std::nearbyint(src[c] * inv), -8.0f, 7.0f));
        uint8_t& byte = blob[Q4NibbleByte(g, r, c)];
        const auto u = static_cast<uint8_t>(q + 8);
        byte = Q4NibbleIsHigh(c) ? static_cast<uint8_t>((byte & 0x0F) | (u << 4))
                                 : static_cast<uint8_t>((byte & 0xF0) | u);
      }
    }
  }
}

float PlainAt(const MatrixView& w, int64_t index) {
  uint16_t half;
  switch (w.dtype) {
    case DType::kBF16:
      std::memcpy(&half, Blob(w) + index * 2, 2);
      return BF16ToF32(half);
    case DType::kF16:
      std::memcpy(&half, Blob(w) + index * 2, 2);
      return F16ToF32(half);
    default:
      return static_cast<const float*>(w.data)[index];
  }
}

}  // namespace

Result<std::vector<uint8_t>> PackMatrix(const float* w, int64_t rows, int64_t cols,
                                        WeightLayout layout, int64_t group_size) {
  LS_ASSIGN_OR_RETURN(const PackedGeometry g, PackedGeometryFor(layout, rows, cols, group_size));
  std::vector<uint8_t> blob(g.total_bytes, 0);
  if (layout == WeightLayout::kQ8Row) {
    PackQ8Row(w, g, blob.data());
  } else {
    PackQ4Group(w, g, blob.data());
  }
  return blob;
}

void DequantizeRow(const MatrixView& w, int64_t row, float* out) {
  if (w.layout == WeightLayout::kPlain) {
    for (int64_t c = 0; c < w.cols; ++c) out[c] = PlainAt(w, row * w.cols + c);
    return;
  }
  if (w.layout == WeightLayout::kTiled) {
    for (int64_t c = 0; c < w.cols; ++c) out[c] = PlainAt(w, TiledIndex(w.cols, row, c));
    return;
  }
  const PackedGeometry g = GeometryOf(w);
  if (w.layout == WeightLayout::kQ8Row) {
    const float scale = Q8Scale(g, Blob(w), row);
    for (int64_t c = 0; c < w.cols; ++c) out[c] = Q8At(g, Blob(w), row, c) * scale;
    return;
  }
  for (int64_t c = 0; c < w.cols; ++c) {
    out[c] = Q4At(g, Blob(w), row, c) * Q4Scale(g, Blob(w), row, c / g.group_size);
  }
}

float QuantizeActivationRow(const float* x, int64_t cols, int64_t padded_cols, int8_t* xq) {
  float amax = 0;
  for (int64_t c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(x[c]));
  const float sx = amax / 127.0f;
  const float inv = sx != 0 ? 1.0f / sx : 0.0f;
  for (int64_t c = 0; c < cols; ++c) xq[c] = QuantizeInt8(x[c], inv);
  std::fill(xq + cols, xq + padded_cols, int8_t{0});
  return sx;
}

void MatMulQuantizedReference(const MatrixView& w, const MatMulArgs& a) {
  const PackedGeometry g = GeometryOf(w);
  std::vector<int8_t> xq(g.padded_cols);
  for (int64_t t = 0; t < a.n; ++t) {
    const double sx = QuantizeActivationRow(a.x + t * a.x_stride, w.cols, g.padded_cols, xq.data());
    for (int64_t r = 0; r < w.rows; ++r) {
      double sum = 0;
      if (w.layout == WeightLayout::kQ8Row) {
        int64_t isum = 0;
        for (int64_t c = 0; c < g.padded_cols; ++c) isum += Q8At(g, Blob(w), r, c) * xq[c];
        sum = static_cast<double>(Q8Scale(g, Blob(w), r)) * static_cast<double>(isum);
      } else {
        for (int64_t group = 0; group < g.groups_per_row(); ++group) {
          int64_t isum = 0;
          for (int64_t c = group * g.group_size; c < (group + 1) * g.group_size; ++c)
            isum += Q4At(g, Blob(w), r, c) * xq[c];
          sum += static_cast<double>(Q4Scale(g, Blob(w), r, group)) * static_cast<double>(isum);
        }
      }
      float& out = a.y[t * a.y_stride + r];
      const double value = a.scale * sx * sum;
      out = static_cast<float>(a.accumulate ? out + value : value);
    }
  }
}

}  // namespace lorashare

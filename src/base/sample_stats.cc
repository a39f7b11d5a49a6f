#include "base/sample_stats.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace lorashare {

SampleStats Summarize(std::span<const double> samples) {
  SampleStats stats;
  if (samples.empty()) return stats;
  std::vector<double> sorted(samples.begin(), samples.end());
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  double sum = 0;
  for (double x : sorted) sum += x;
  stats.mean = sum / static_cast<double>(n);
  stats.median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  stats.min = sorted.front();
  stats.max = sorted.back();
  if (n > 1) {
    double squares = 0;
    for (double x : sorted) squares += (x - stats.mean) * (x - stats.mean);
    stats.stdev = std::sqrt(squares / static_cast<double>(n - 1));
  }
  return stats;
}

}  // namespace lorashare

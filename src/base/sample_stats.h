// SampleStats: the spread of repeated measurements (times, rates).
#pragma once

#include <span>

namespace lorashare {

struct SampleStats {
  double mean = 0;
  double median = 0;  // the mean of the middle two for an even count
  double stdev = 0;   // sample standard deviation (n - 1); 0 for fewer than 2
  double min = 0;
  double max = 0;
};

// All zeros for no samples.
SampleStats Summarize(std::span<const double> samples);

}  // namespace lorashare

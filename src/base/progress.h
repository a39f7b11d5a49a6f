// ProgressBar: a one-line progress display on a terminal.
//
// Draws only when stderr is a terminal and the bar is enabled, so scripts and
// tests see clean output; redraws at most a few times per second.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace lorashare {

class ProgressBar {
 public:
  ProgressBar(std::string label, uint64_t total, bool enabled);
  ~ProgressBar();

  void Advance(uint64_t amount);
  void Finish();

 private:
  void Draw();

  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  bool active_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace lorashare

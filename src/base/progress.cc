#include "base/progress.h"

#include <unistd.h>

#include <cstdio>

namespace lorashare {

ProgressBar::ProgressBar(std::string label, uint64_t total, bool enabled)
    : label_(std::move(label)), total_(total), active_(enabled && ::isatty(STDERR_FILENO)) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Advance(uint64_t amount) {
  done_ += amount;
  if (!active_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(200) && done_ < total_) return;
  last_draw_ = now;
  Draw();
}

void ProgressBar::Draw() {
  constexpr int kWidth = 30;
  double fraction = total_ == 0 ? 1.0 : static_cast<double>(done_) / static_cast<double>(total_);
  if (fraction > 1.0) fraction = 1.0;
  int filled = static_cast<int>(fraction * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r%s [%s] %5.1f%%", label_.c_str(), bar.c_str(), fraction * 100.0);
  std::fflush(stderr);
}

void ProgressBar::Finish() {
  if (!active_) return;
  done_ = total_;
  Draw();
  std::fputc('\n', stderr);
  active_ = false;
}

}  // namespace lorashare

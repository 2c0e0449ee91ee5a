// Progress of a long phase (a generator's training steps, a classifier's epochs): on a terminal,
// one line redrawn in place; in a log (stderr not a terminal), one line every few seconds, so a
// phase of minutes is never silent. Each says the steps done, the rate and the time left.
//
//   ProgressMeter meter("cyclegan", total_steps);
//   for (...) { ...; meter.advance(); }
//   meter.finish();   // clears the terminal line
//
// REBALANCE_PROGRESS=0 silences every meter; REBALANCE_PROGRESS_SECONDS sets the log interval
// (default 10).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace rebalance {

class ProgressMeter {
 public:
  /// `label` starts each line; `total` steps (0: unknown, no time left shown).
  ProgressMeter(std::string label, int64_t total);
  ~ProgressMeter();
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;

  /// `steps` more done.
  void advance(int64_t steps = 1);
  /// Clear the terminal line (called by the destructor too).
  void finish();

  /// The line a meter shows after `done` of `total` steps in `seconds` (tests; the log's form).
  static std::string line(const std::string& label, int64_t done, int64_t total, double seconds);

 private:
  using Clock = std::chrono::steady_clock;
  std::string label_;
  int64_t total_, done_ = 0;
  Clock::time_point start_, last_;
  bool enabled_, tty_, drawn_ = false;
  double interval_;
};

}  // namespace rebalance

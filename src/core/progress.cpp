#include "rebalance/core/progress.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace rebalance {

namespace {

std::string duration_text(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto t = static_cast<int64_t>(std::llround(s));
  if (t < 60) return fmt::format("{}s", t);
  if (t < 3600) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
}

double interval_seconds() {
  if (const char* v = std::getenv("REBALANCE_PROGRESS_SECONDS")) {
    char* end = nullptr;
    const double s = std::strtod(v, &end);
    if (end != v && s > 0) return s;
  }
  return 10.0;
}

bool progress_enabled() {
  const char* v = std::getenv("REBALANCE_PROGRESS");
  return !(v && std::string_view(v) == "0");
}

}  // namespace

ProgressMeter::ProgressMeter(std::string label, int64_t total)
    : label_(std::move(label)), total_(total), start_(Clock::now()), last_(start_), enabled_(progress_enabled()),
      tty_(::isatty(::fileno(stderr)) != 0), interval_(interval_seconds()) {}

ProgressMeter::~ProgressMeter() { finish(); }

std::string ProgressMeter::line(const std::string& label, int64_t done, int64_t total, double seconds) {
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  std::string out = total > 0 ? fmt::format("{}: step {}/{} ({}%)", label, done, total, 100 * done / total)
                              : fmt::format("{}: step {}", label, done);
  out += rate >= 1 ? fmt::format(", {:.1f} steps/s", rate) : fmt::format(", {:.1f} s/step", rate > 0 ? 1 / rate : 0.0);
  if (total > 0 && rate > 0) out += ", ~" + duration_text(static_cast<double>(total - done) / rate) + " left";
  return out;
}

void ProgressMeter::advance(int64_t steps) {
  done_ += steps;
  if (!enabled_) return;
  const auto now = Clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  // A terminal redraws at most 5 times a second; a log gets a line per interval.
  if (since < (tty_ ? 0.2 : interval_)) return;
  last_ = now;
  const auto text = line(label_, done_, total_, std::chrono::duration<double>(now - start_).count());
  if (tty_) {
    std::fprintf(stderr, "\r %s   ", text.c_str());
    drawn_ = true;
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  std::fflush(stderr);
}

void ProgressMeter::finish() {
  if (drawn_) {
    std::fprintf(stderr, "\r%100s\r", "");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace rebalance

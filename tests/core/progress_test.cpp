#include "rebalance/core/progress.hpp"

#include <gtest/gtest.h>

using rebalance::ProgressMeter;

TEST(ProgressMeter, LineSaysStepsRateAndTimeLeft) {
  EXPECT_EQ(ProgressMeter::line("CycleGAN", 400, 2000, 100.0), "CycleGAN: step 400/2000 (20%), 4.0 steps/s, ~6m40s left");
  EXPECT_EQ(ProgressMeter::line("VAE fit", 3, 10, 6.0), "VAE fit: step 3/10 (30%), 2.0 s/step, ~14s left");
  EXPECT_EQ(ProgressMeter::line("x", 10, 0, 5.0), "x: step 10, 2.0 steps/s");
  EXPECT_EQ(ProgressMeter::line("x", 1, 100000, 1.0), "x: step 1/100000 (0%), 1.0 steps/s, ~27h46m left");
}

TEST(ProgressMeter, CountsWithoutPrintingWhenSilenced) {
  setenv("REBALANCE_PROGRESS", "0", 1);
  {
    ProgressMeter m("quiet", 3);
    for (int i = 0; i < 3; ++i) m.advance();
  }
  unsetenv("REBALANCE_PROGRESS");
}

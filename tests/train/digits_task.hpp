// The trainers' shared real data: MNIST digits 0 (all ~720 training rows) vs 6 (20 rows), with a
// validation split and a balanced test set, built once per test binary.
#pragma once

#include "rebalance/experiment/task.hpp"

namespace rebalance::testing {

inline const Task& digits_zero_six() {
  static const Task t = [] {
    TaskOptions o;
    o.data = "mnist-digits";
    o.pair = "0:all,6:20";
    o.seed = 1;
    return build_task(o);
  }();
  return t;
}

}  // namespace rebalance::testing

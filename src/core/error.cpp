#include "rebalance/core/error.hpp"

namespace rebalance::detail {

void fail(const char* file, int line, std::string message) {
  throw Error(std::move(message), fmt::format("{}:{}", file, line));
}

}  // namespace rebalance::detail

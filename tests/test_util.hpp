// Helpers shared by the unit tests: a scratch folder and message assertions.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "rebalance/core/error.hpp"

namespace rebalance::testing {

/// A fresh folder under the system temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("rebalance-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(file(name), std::ios::binary) << content;
    return file(name);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Whether two tensor lists (a model's parameters, say) are equal tensor for tensor, bit for bit.
inline bool same_tensors(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!at::equal(a[i], b[i])) return false;
  return true;
}

}  // namespace rebalance::testing

/// Expect `stmt` to throw rebalance::Error whose message contains every listed fragment.
#define EXPECT_ERROR_MENTIONS(stmt, ...)                                                 \
  do {                                                                                   \
    try {                                                                                \
      stmt;                                                                              \
      ADD_FAILURE() << "expected rebalance::Error from " #stmt;                         \
    } catch (const ::rebalance::Error& e) {                                              \
      for (const std::string frag : {__VA_ARGS__})                                       \
        EXPECT_NE(std::string(e.what()).find(frag), std::string::npos)                   \
            << "message \"" << e.what() << "\" lacks \"" << frag << "\"";              \
    }                                                                                    \
  } while (false)

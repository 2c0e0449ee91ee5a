#include "rebalance/data/mnist_json.hpp"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"

namespace rebalance {

Dataset load_mnist_json(const std::string& dir) {
  constexpr int64_t kPixels = 28 * 28;
  std::vector<at::Tensor> xs, ys;
  for (int digit = 0; digit < 10; ++digit) {
    const std::string path = fmt::format("{}/{}.json", dir, digit);
    const std::string text = read_file(path);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      REBALANCE_THROW("{}: invalid JSON at byte {}: {}", path, e.byte, e.what());
    } catch (const nlohmann::json::exception& e) {  // e.g. out_of_range: a number past double's range
      REBALANCE_THROW("{}: invalid JSON: {}", path, e.what());
    }
    REBALANCE_CHECK(j.is_object() && j.contains("data") && j["data"].is_array(),
                    "{}: expected an object with a \"data\" array", path);
    const auto& data = j["data"];
    REBALANCE_CHECK(data.size() % kPixels == 0, "{}: {} values is not a multiple of 784 (28x28)", path,
                    data.size());
    std::vector<float> values;
    values.reserve(data.size());
    for (size_t i = 0; i < data.size(); ++i) {
      REBALANCE_CHECK(data[i].is_number(), "{}: value {} (image {}, pixel {}) is not a number: {}", path, i,
                      i / kPixels, i % kPixels, data[i].dump());
      const float v = data[i].get<float>();
      REBALANCE_CHECK(v >= 0.0f && v <= 1.0f, "{}: value {} (image {}, pixel {}) = {} outside [0, 1]", path, i,
                      i / kPixels, i % kPixels, v);
      values.push_back(v);
    }
    const int64_t n = static_cast<int64_t>(values.size()) / kPixels;
    xs.push_back(torch::from_blob(values.data(), {n, 1, 28, 28}, torch::kFloat32).clone());
    ys.push_back(torch::full({n}, digit, torch::kInt64));
  }
  std::vector<std::string> names;
  for (int d = 0; d < 10; ++d) names.push_back(std::to_string(d));
  return Dataset::from_tensors(torch::cat(xs), torch::cat(ys), names, "mnist-digits");
}

}  // namespace rebalance

// Pieces the under-sampling and cleaning samplers share: features and labels on the CPU, the
// minority class as imbalanced-learn picks it, the kind_sel rule and its majority vote.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rebalance/data/dataset.hpp"

namespace rebalance::under_sampling {

/// The features as a contiguous [N, D] CPU matrix (images flattened) in their own dtype, float32
/// or float64: the neighbour searches and every kept row stay in it.
at::Tensor cpu_features(const Dataset& data);
/// The labels as a vector.
std::vector<int64_t> cpu_labels(const Dataset& data);

/// The minority class as imbalanced-learn's `min(Counter(y), key=...)` finds it: the smallest
/// count, ties going to the class whose first row comes first in y (not the lower class number,
/// which is what the sampling strategies use).
int64_t first_minority_class(const std::vector<int64_t>& y, int64_t num_classes);

/// Rows of class c, ascending.
std::vector<int64_t> class_rows(const std::vector<int64_t>& y, int64_t c);

/// How a neighbourhood votes: `all` keeps a row only if every neighbour shares its class, `mode`
/// if the most common neighbour class (the lowest one on a tie, as scipy.stats.mode) is its own.
enum class KindSel { All, Mode };

/// "all" or "mode"; anything else is refused naming the value, the sampler and the choices.
KindSel parse_kind_sel(const std::string& text, std::string_view sampler);
const char* to_string(KindSel kind);

/// Most common of `k` labels, the lowest label among equally common ones.
int64_t mode_label(const int64_t* labels, int64_t k);

}  // namespace rebalance::under_sampling

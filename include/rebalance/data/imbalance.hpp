// Imbalance builders: turn a balanced data set into the imbalanced one an experiment needs, and
// the stratified split that keeps every class in training. All seeded.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "rebalance/core/rng.hpp"
#include "rebalance/data/dataset.hpp"

namespace rebalance {

/// Keep `counts[c]` randomly chosen rows of each class c named in the map (all rows of the
/// others), as imbalanced-learn's make_imbalance. Error names the class if it has fewer rows.
///   auto d = make_imbalance(fashion, {{6, 100}}, /*seed=*/0);   // class 6 down to 100 rows
Dataset make_imbalance(const Dataset& data, const std::map<int64_t, int64_t>& counts, uint64_t seed);

/// Binary task: `n_a` rows of class a (label 0) against `n_b` rows of class b (label 1); a
/// count of -1 takes every row. Class names carried over. Seed 000: 5000 "0" vs 100 "6".
Dataset binary_pair(const Dataset& data, int64_t class_a, int64_t n_a, int64_t class_b, int64_t n_b,
                    uint64_t seed);

/// Group classes into a binary task: `majority` classes become label 0, `minority` label 1, each
/// class subsampled to `per_class[c]` rows (-1 = all). Seed 003: classes 0-4 vs 5-9.
Dataset binary_groups(const Dataset& data, const std::vector<int64_t>& majority,
                      const std::vector<int64_t>& minority, const std::map<int64_t, int64_t>& per_class,
                      uint64_t seed);

/// Long-tailed profile of Cao et al. (LDAM, NeurIPS 2019): n_i = floor(n_max * rho^(-i/(C-1))),
/// so class 0 keeps n_max and class C-1 keeps n_max / rho.
std::vector<int64_t> long_tail_counts(int64_t n_max, int64_t num_classes, double rho);

/// Step profile (Buda et al. 2018): the first C - round(mu*C) classes keep n_max, the rest
/// floor(n_max / rho).
std::vector<int64_t> step_counts(int64_t n_max, int64_t num_classes, double rho, double mu = 0.5);

/// Apply a profile: class i keeps counts[i] random rows. n_max defaults to the smallest class.
Dataset apply_profile(const Dataset& data, const std::vector<int64_t>& counts, uint64_t seed);

/// "A:N,B:M" -> [(A, N), (B, M)], classes by name or number, N = "all" (or -1) for every row;
/// errors quote `what` (the option or key) and the offending entry.
std::vector<std::pair<int64_t, int64_t>> parse_class_counts(const std::string& text, const Dataset& data,
                                                            const char* what);

struct Split {
  Dataset train, validation, test;
};

/// Stratified split: in each class round(n_c * fraction) rows go to validation and to test, the
/// rest to training, except that a class with at least one row always keeps one in training
/// (taken back from test first, then validation). Row order inside each part is shuffled.
Split stratified_split(const Dataset& data, double validation_fraction, double test_fraction, uint64_t seed);

/// Stratified folds: each class's rows in an order drawn from `rng`, dealt round-robin to folds
/// 0..k-1. Returns each row's fold.
std::vector<int64_t> stratified_fold_ids(const Dataset& data, int64_t k, Rng& rng);

}  // namespace rebalance

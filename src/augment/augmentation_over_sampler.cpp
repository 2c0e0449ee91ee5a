#include "rebalance/augment/augmentation_over_sampler.hpp"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include "rebalance/augment/augment.hpp"
#include "rebalance/core/error.hpp"

namespace rebalance::augment {

namespace {

constexpr int64_t kChunk = 1024;  // images transformed at once

}  // namespace

AugmentationOverSampler::AugmentationOverSampler(AugmentationOverSamplerOptions options, SamplingStrategy strategy,
                                                 uint64_t seed)
    : Sampler("augment", SamplingType::Over, std::move(strategy), seed),
      options_(std::move(options)),
      augmentation_(make_augmentation(options_.transforms)) {  // a bad spec is refused here
  if (!options_.image_shape.empty())
    REBALANCE_CHECK(options_.image_shape.size() == 3 && options_.image_shape[0] >= 1 && options_.image_shape[1] >= 1 &&
                        options_.image_shape[2] >= 1,
                    "AugmentationOverSampler: image_shape must be [C,H,W] of positive sizes, got [{}]",
                    fmt::join(options_.image_shape, ","));
}

CopyPlan copy_plan(int64_t class_rows, int64_t add, int64_t alternatives, uint64_t seed, int64_t cls) {
  REBALANCE_CHECK(class_rows >= 1 && add >= 0 && alternatives >= 1,
                  "augmentation copies: {} copies of a class of {} images through {} alternatives", add, class_rows,
                  alternatives);
  CopyPlan plan;
  // The same stream the sampler draws its transforms from, forked per alternative afterwards.
  Rng rng = Rng(seed).fork(static_cast<uint64_t>(cls));
  plan.source = rng.cycled_permutations(class_rows, add);
  // Copy k is of round k / class_rows; its alternative is the round's, modulo the alternatives.
  for (int64_t k = 0; k < add; ++k) plan.alternative.push_back((k / class_rows) % alternatives);
  return plan;
}

Dataset AugmentationOverSampler::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const auto& aug = augmentation_;
  at::Tensor images = data.x;
  if (!options_.image_shape.empty()) {
    const auto& s = options_.image_shape;
    REBALANCE_CHECK(data.num_features() == s[0] * s[1] * s[2], "AugmentationOverSampler: image_shape [{}] holds {} "
                    "values, but the rows of \"{}\" have {}", fmt::join(s, ","), s[0] * s[1] * s[2], data.name,
                    data.num_features());
    images = data.x.reshape({data.size(), s[0], s[1], s[2]});
  }
  REBALANCE_CHECK(images.dim() == 4, "AugmentationOverSampler: transforms images [C, H, W], but the rows of \"{}\" are "
                  "tabular ({} features); give image_shape=[C,H,W] for flattened images, or use smote or random_over "
                  "for tabular data", data.name, data.num_features());
  const auto origin = data.origin.to(torch::kCPU, torch::kInt64).contiguous();
  std::vector<at::Tensor> xs{images}, ys{data.y}, parents;
  for (const auto& [c, add] : target) {
    if (add == 0) continue;
    const auto rows = data.indices_of(c).to(torch::kCPU).contiguous();
    const int64_t n_c = rows.size(0);
    Rng rng = Rng(seed()).fork(static_cast<uint64_t>(c));
    const auto plan = copy_plan(n_c, add, aug->alternatives(), seed(), c);
    std::vector<std::vector<int64_t>> by_alt(static_cast<size_t>(aug->alternatives()));
    for (int64_t k = 0; k < add; ++k) by_alt[static_cast<size_t>(plan.alternative[k])].push_back(k);
    std::vector<int64_t> src(static_cast<size_t>(add));
    for (int64_t k = 0; k < add; ++k) src[k] = rows.data_ptr<int64_t>()[plan.source[k]];
    auto out = torch::empty({add, images.size(1), images.size(2), images.size(3)}, images.options());
    for (int64_t a = 0; a < aug->alternatives(); ++a) {
      const auto& ks = by_alt[static_cast<size_t>(a)];
      Rng alt_rng = rng.fork(static_cast<uint64_t>(a));
      for (size_t b = 0; b < ks.size(); b += kChunk) {
        const std::vector<int64_t> part(ks.begin() + b, ks.begin() + std::min(ks.size(), b + kChunk));
        std::vector<int64_t> part_src;
        for (auto k : part) part_src.push_back(src[k]);
        const auto dst = torch::tensor(part, torch::kInt64).to(images.device());
        const auto from = images.index_select(0, torch::tensor(part_src, torch::kInt64).to(images.device()));
        out.index_copy_(0, dst, aug->apply_alternative(a, from, alt_rng).to(images.scalar_type()));
      }
    }
    xs.push_back(out);
    ys.push_back(torch::full({add}, c, data.y.options()));
    std::vector<int64_t> p(static_cast<size_t>(2 * add), -1);
    for (int64_t k = 0; k < add; ++k) p[2 * k] = origin.data_ptr<int64_t>()[src[k]];
    parents.push_back(torch::tensor(p, torch::kInt64).view({add, 2}));
  }
  if (parents.empty()) return data;
  Dataset res = data;
  const int64_t n = res.size();
  res.x = torch::cat(xs);
  if (!options_.image_shape.empty()) res.x = res.x.reshape({res.x.size(0), -1});
  res.y = torch::cat(ys);
  const int64_t m = res.x.size(0) - n;
  res.origin = torch::cat({origin.to(data.origin.device()), torch::full({m}, int64_t(-1), data.origin.options())});
  const auto old_parents = data.parents.defined() ? data.parents.to(torch::kCPU)
                                                  : torch::full({n, 2}, int64_t(-1), torch::kInt64);
  parents.insert(parents.begin(), old_parents);
  res.parents = torch::cat(parents).to(data.origin.device());
  return res;
}

}  // namespace rebalance::augment

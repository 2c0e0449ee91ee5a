#include "rebalance/experiment/longtail.hpp"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "rebalance/cluster/kmeans.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/experiment/png.hpp"

namespace rebalance {

namespace fs = std::filesystem;

namespace {

std::string folder_name(std::string s) {
  for (auto& c : s)
    if (c == '/' || c == ' ' || c == '\\' || c == ':') c = '-';
  return s;
}

}  // namespace

LongTailFolderSummary make_longtail_folder(const Dataset& source, const LongTailFolderOptions& o,
                                           const std::string& out, std::ostream& log) {
  source.validate();
  REBALANCE_CHECK(source.x.dim() == 4, "make-longtail: the source must be images [C, H, W], got rows of {} features",
                  source.num_features());
  REBALANCE_CHECK(o.subclasses >= 1 && o.max_per_class >= 2 && o.test_per_class >= 0 && o.singletons >= 0 &&
                      o.singletons <= 1,
                  "make-longtail: subclasses >= 1, max_per_class >= 2, test_per_class >= 0, singletons in [0, 1]");
  REBALANCE_CHECK(!fs::exists(out), "{} exists; make-longtail writes a new folder (remove it or choose another)", out);
  // Sub-classes: k-means within each source class, on the pixels.
  struct Sub {
    std::string name;
    std::vector<int64_t> rows;
  };
  std::vector<Sub> subs;
  int64_t dropped = 0;
  for (int64_t c = 0; c < source.num_classes(); ++c) {
    const auto idx = source.indices_of(c).to(torch::kCPU).contiguous();
    if (idx.size(0) == 0) continue;
    const int64_t k = std::min<int64_t>(o.subclasses, idx.size(0));
    const auto r = cluster::kmeans(source.x.index_select(0, idx).reshape({idx.size(0), -1}).to(torch::kFloat32),
                          cluster::KMeansOptions{.k = k, .seed = o.seed + static_cast<uint64_t>(c)});
    std::vector<Sub> part(static_cast<size_t>(k));
    const auto lab = r.labels.to(torch::kCPU).contiguous();
    const int64_t* pl = lab.data_ptr<int64_t>();
    const int64_t* pi = idx.data_ptr<int64_t>();
    for (int64_t i = 0; i < idx.size(0); ++i) part[static_cast<size_t>(pl[i])].rows.push_back(pi[i]);
    for (int64_t j = 0; j < k; ++j) {
      part[j].name = fmt::format("{}.{:02d}", folder_name(source.class_names[c]), j);
      if (static_cast<int64_t>(part[j].rows.size()) < o.test_per_class + 1) {
        ++dropped;
        continue;
      }
      subs.push_back(std::move(part[j]));
    }
  }
  REBALANCE_CHECK(!subs.empty(), "make-longtail: no sub-class holds {} images", o.test_per_class + 1);
  // Seeded order of the sub-classes along the tail, and each sub-class's rows in a seeded order.
  Rng rng(o.seed);
  const auto order = rng.permutation(static_cast<int64_t>(subs.size()));
  const int64_t n = static_cast<int64_t>(subs.size());
  const int64_t head = n - static_cast<int64_t>(std::llround(o.singletons * n));
  const fs::path tmp = fs::path(out).string() + ".partial";
  fs::remove_all(tmp);
  LongTailFolderSummary s;
  s.dropped_classes = dropped;
  for (int64_t pos = 0; pos < n; ++pos) {
    auto& sub = subs[static_cast<size_t>(order[pos])];
    auto r = rng.fork(static_cast<uint64_t>(order[pos]));
    const auto perm = r.permutation(static_cast<int64_t>(sub.rows.size()));
    const int64_t want = pos < head ? (head == 1 ? o.max_per_class
                                                 : std::llround(o.max_per_class *
                                                                std::pow(2.0 / o.max_per_class, double(pos) / (head - 1))))
                                    : 1;
    const int64_t avail = static_cast<int64_t>(sub.rows.size()) - o.test_per_class;
    const int64_t n_train = std::max<int64_t>(1, std::min(want, avail));
    fs::create_directories(tmp / "train" / sub.name);
    if (o.test_per_class > 0) fs::create_directories(tmp / "test" / sub.name);
    for (int64_t i = 0; i < o.test_per_class + n_train; ++i) {
      const int64_t row = sub.rows[static_cast<size_t>(perm[i])];
      const auto dir = i < o.test_per_class ? tmp / "test" / sub.name : tmp / "train" / sub.name;
      write_png((dir / fmt::format("{:05d}.png", row)).string(), source.x[row]);
    }
    s.train_images += n_train;
    s.test_images += o.test_per_class;
    s.singleton_classes += n_train == 1;
  }
  s.classes = n;
  fs::rename(tmp, out);
  log << fmt::format("{}: {} classes ({} with a single training image; {} sub-classes under {} images dropped), {} "
                     "training and {} test images\n", out, s.classes, s.singleton_classes, dropped,
                     o.test_per_class + 1, s.train_images, s.test_images);
  return s;
}

}  // namespace rebalance

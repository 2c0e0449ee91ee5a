// float64 end to end: every sampler returns the input's dtype, keeps input rows bit for bit, makes
// float64 rows in float64 arithmetic from their parents, and searches float64 neighbours exactly.
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <sstream>

#include "../test_util.hpp"
#include "sampler_cases.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/data/synthetic.hpp"
#include "rebalance/neighbors/knn.hpp"
#include "rebalance/neighbors/search.hpp"
#include "rebalance/sampling/sampler.hpp"
#include "rebalance/train/trainer.hpp"

using namespace rebalance;
using rebalance::testing::case_for;
using rebalance::testing::categorical;
using rebalance::testing::mixed;

namespace {

Dataset with_x(const Dataset& d, at::Tensor x) {
  Dataset out = d;
  out.x = std::move(x);
  out.validate();
  return out;
}

/// Values float32 cannot hold, of the data's own scale (more than 24 significant bits each).
at::Tensor off_grid(const at::Tensor& x32) { return x32.to(torch::kFloat64) * (1.0 + 1e-9) + 1e-10; }

/// Samplers whose choices depend on k-means, which runs in the rows' dtype (so a float64 copy of
/// float32 rows may cluster differently in the last bits).
bool clusters(const std::string& name) {
  return name == "kmeans_smote" || name == "cluster_over" || name == "cluster_centroids";
}

/// Samplers whose new rows are a + s (b - a) of their two parents (continuous columns).
bool interpolates(const std::string& name) {
  return name == "smote" || name == "adasyn" || name == "borderline_smote" || name == "kmeans_smote" ||
         name == "smotenc" || name == "smote_tomek" || name == "smote_enn";
}

/// Whether row == a + s (b - a) in float64 arithmetic (difference, product and sum each rounded
/// once, as numpy's X[rows] + steps * diffs) for one s in [0, 1], over the columns `cols`. s is not
/// known: s -> a_w + s (b_w - a_w) is monotone in s for the widest column w, so the doubles s that
/// give row_w there form one run, found by bisection over the doubles of [0, 1]; some s of that
/// run must then give every other column too.
bool interpolated_in_float64(const double* row, const double* a, const double* b, const std::vector<int64_t>& cols) {
  int64_t w = cols[0];
  for (auto j : cols)
    if (std::abs(b[j] - a[j]) > std::abs(b[w] - a[w])) w = j;
  auto at = [&](double s, int64_t j) { return a[j] + s * (b[j] - a[j]); };
  if (b[w] - a[w] == 0.0) {
    for (auto j : cols)
      if (row[j] != a[j]) return false;
    return true;
  }
  const bool up = b[w] > a[w];
  auto bits = [](double s) {
    int64_t i;
    std::memcpy(&i, &s, sizeof i);
    return i;
  };
  auto value = [](int64_t i) {
    double s;
    std::memcpy(&s, &i, sizeof s);
    return s;
  };
  // Non-negative doubles order as their bit patterns: bisect for the first s reaching row_w.
  int64_t lo = bits(0.0), hi = bits(1.0);
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    const double g = at(value(mid), w);
    if (up ? g >= row[w] : g <= row[w])
      hi = mid;
    else
      lo = mid + 1;
  }
  for (int64_t i = lo, tries = 0; i <= bits(1.0) && at(value(i), w) == row[w] && tries < (1 << 22); ++i, ++tries) {
    bool all = true;
    for (auto j : cols) all = all && row[j] == at(value(i), j);
    if (all) return true;
  }
  return false;
}

/// Reference k-NN on float64 rows: squared distances summed in feature order, ties to the lower
/// index, optionally without the query row itself.
std::vector<std::vector<int64_t>> brute(const at::Tensor& base, const at::Tensor& query, int64_t k,
                                        const std::vector<int64_t>& self = {}) {
  const auto b = base.contiguous(), q = query.contiguous();
  const int64_t n = b.size(0), d = b.size(1);
  const double* bp = b.data_ptr<double>();
  const double* qp = q.data_ptr<double>();
  std::vector<std::vector<int64_t>> out;
  for (int64_t i = 0; i < q.size(0); ++i) {
    std::vector<std::pair<double, int64_t>> all;
    for (int64_t j = 0; j < n; ++j)
      if (self.empty() || j != self[i]) all.emplace_back(neighbors::squared_distance(qp + i * d, bp + j * d, d), j);
    std::sort(all.begin(), all.end());
    std::vector<int64_t> row;
    for (int64_t j = 0; j < k; ++j) row.push_back(all[j].second);
    out.push_back(row);
  }
  return out;
}

std::vector<std::vector<int64_t>> rows_of(const at::Tensor& t) {
  std::vector<std::vector<int64_t>> out(t.size(0));
  const auto c = t.contiguous();
  for (int64_t i = 0; i < t.size(0); ++i)
    out[i] = std::vector<int64_t>(c.data_ptr<int64_t>() + i * t.size(1), c.data_ptr<int64_t>() + (i + 1) * t.size(1));
  return out;
}

/// Rows at two sites far apart (0 and 4e9), each a small grid of integer offsets: centred on the
/// mean the values are about +-2e9, where float32's spacing is 256, so every row of a site looks
/// the same to a float32 search; only float64 tells 4e9 from 4e9 + 1.
at::Tensor colliding_rows(int64_t per_site, uint64_t seed) {
  Rng rng(seed);
  auto x = torch::empty({2 * per_site, 3}, torch::kFloat64);
  auto a = x.accessor<double, 2>();
  for (int64_t i = 0; i < 2 * per_site; ++i)
    for (int64_t j = 0; j < 3; ++j)
      a[i][j] = (i % 2 ? 4e9 : 0.0) + static_cast<double>(rng.uniform_int(7)) + (j == 0 ? 0.25 * (i % 5) : 0.0);
  return x;
}

}  // namespace

TEST(SamplerDtype, Float64InFloat64OutFloat32InFloat32Out) {
  for (const auto& info : sampler_registry()) {
    SCOPED_TRACE(info.name);
    const auto [spec, data] = case_for(info);
    // float64 rows with an offset float32 would round away (4e9 + x: float32 spacing there is 256).
    const Dataset wide = with_x(data, data.x.to(torch::kFloat64) + 4e9);
    const auto out64 = make_sampler(spec, 11)->fit_resample(wide);
    EXPECT_EQ(out64.x.scalar_type(), torch::kFloat64);
    const auto out32 = make_sampler(spec, 11)->fit_resample(data);
    EXPECT_EQ(out32.x.scalar_type(), torch::kFloat32);
    // Kept rows are the input rows bit for bit, with their labels.
    for (const auto* out : {&out64, &out32}) {
      const auto& in = out == &out64 ? wide : data;
      const auto kept = (out->origin >= 0).nonzero().flatten();
      const auto src = out->origin.index_select(0, kept);
      EXPECT_TRUE(torch::equal(out->x.index_select(0, kept), in.x.index_select(0, src)));
      EXPECT_TRUE(torch::equal(out->y.index_select(0, kept), in.y.index_select(0, src)));
    }
    // New float64 rows are finite and carry float64 precision (not float32 values widened).
    const auto fresh = (out64.origin < 0).nonzero().flatten();
    EXPECT_TRUE(torch::isfinite(out64.x).all().item<bool>());
    if (fresh.numel() > 0 && !rebalance::testing::network_rows(info.name) && info.name != "smoten" &&
        info.name != "cluster_centroids") {
      const auto got = out64.x.index_select(0, fresh);
      EXPECT_FALSE(torch::equal(got, got.to(torch::kFloat32).to(torch::kFloat64)));
    }
  }
}

TEST(SamplerDtype, Float64CopyOfFloat32DataMakesTheSameChoices) {
  // Widening is exact and the neighbour searches are exact, so a float64 copy of float32 rows
  // keeps, draws and pairs exactly the same rows; only the arithmetic of new rows is wider.
  for (const auto& info : sampler_registry()) {
    if (clusters(info.name)) continue;
    SCOPED_TRACE(info.name);
    const auto [spec, data] = case_for(info);
    const auto out32 = make_sampler(spec, 11)->fit_resample(data);
    const auto out64 = make_sampler(spec, 11)->fit_resample(with_x(data, data.x.to(torch::kFloat64)));
    ASSERT_EQ(out64.size(), out32.size());
    EXPECT_TRUE(torch::equal(out64.origin, out32.origin));
    EXPECT_TRUE(torch::equal(out64.y, out32.y));
    EXPECT_TRUE(torch::equal(out64.parents_or_none(), out32.parents_or_none()));
    const auto fresh = (out32.origin < 0).nonzero().flatten();
    if (fresh.numel() == 0) continue;
    const auto n64 = out64.x.index_select(0, fresh), n32 = out32.x.index_select(0, fresh).to(torch::kFloat64);
    if (rebalance::testing::network_rows(info.name) || info.name == "smoten") {
      // The networks see the same float32 rows; their decoded rows are widened, not recomputed.
      // SMOTEN's rows repeat input values.
      EXPECT_TRUE(torch::equal(n64, n32));
    } else if (info.name == "augment") {
      // Rotation samples bilinearly at grid coordinates computed in the rows' dtype: float32
      // coordinates move a sample point by ~1e-6 pixels, and the value by that times the slope.
      EXPECT_LT((n64 - n32).abs().max().item<double>(), 1e-4);
    } else {
      EXPECT_TRUE(torch::allclose(n64, n32, 1e-6, 1e-6));
    }
  }
}

TEST(SamplerDtype, InterpolatedFloat64RowsAreComputedInFloat64FromTheirParents) {
  for (const auto& info : sampler_registry()) {
    if (!interpolates(info.name)) continue;
    for (const std::string kind : {"", ":kind=borderline-2"}) {
      if (!kind.empty() && info.name != "borderline_smote") continue;
      auto [spec, data] = case_for(info);
      spec += kind;
      SCOPED_TRACE(spec);
      const Dataset wide = with_x(data, off_grid(data.x));
      const auto out = make_sampler(spec, 11)->fit_resample(wide);
      const auto fresh = (out.origin < 0).nonzero().flatten();
      ASSERT_GT(fresh.numel(), 0);
      const int64_t d = wide.num_features();
      std::vector<int64_t> cols;
      for (int64_t j = 0; j < d; ++j)
        if (info.name != "smotenc" || j >= 2) cols.push_back(j);
      // parents hold origin ids; the input's origin is 0..N-1, so they index the input rows.
      const auto x = wide.x2d().contiguous(), xo = out.x2d().contiguous();
      const auto p = out.parents.contiguous();
      int64_t bad = 0;
      for (int64_t i = 0; i < fresh.numel(); ++i) {
        const int64_t r = fresh[i].item<int64_t>();
        const int64_t a = p[r][0].item<int64_t>(), b = p[r][1].item<int64_t>();
        ASSERT_GE(a, 0);
        ASSERT_GE(b, 0);
        const double* pr = xo.data_ptr<double>() + r * d;
        if (!interpolated_in_float64(pr, x.data_ptr<double>() + a * d, x.data_ptr<double>() + b * d, cols)) ++bad;
        // SMOTENC's categorical columns take a value of the data, unchanged.
        for (int64_t j = 0; j < d && info.name == "smotenc"; ++j)
          if (j < 2) EXPECT_TRUE((x.select(1, j) == pr[j]).any().item<bool>()) << "row " << r << " column " << j;
      }
      EXPECT_EQ(bad, 0) << "of " << fresh.numel() << " new rows";
    }
  }
}

TEST(SamplerDtype, RandomOverSamplerShrinkageInFloat64) {
  // new = parent + z * shrinkage * smoothing * sigma_j, in float64, with z the sampler's normal
  // draws (per class: the n row draws, then n x D normals in row order).
  const Dataset data = mixed();
  const Dataset wide = with_x(data, off_grid(data.x));
  auto sampler = make_sampler("random_over:shrinkage=0.5", 11);
  const auto out = sampler->fit_resample(wide);
  ASSERT_EQ(out.x.scalar_type(), torch::kFloat64);
  const int64_t n = wide.size(), d = wide.num_features();
  const double smoothing = std::pow(4.0 / ((d + 2.0) * n), 1.0 / (d + 4.0));
  int64_t row = n;
  for (const auto& [c, count] : sampler->resolved_strategy()) {
    if (count == 0) continue;
    const auto rows = wide.indices_of(c);
    const auto sigma = wide.x.index_select(0, rows).std(0, /*unbiased=*/false);
    Rng rng = Rng(11).fork(static_cast<uint64_t>(c));
    std::vector<int64_t> local(count);
    for (auto& i : local) i = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(rows.size(0))));
    for (int64_t i = 0; i < count; ++i, ++row) {
      const int64_t parent = rows[local[i]].item<int64_t>();
      ASSERT_EQ(out.parents[row][0].item<int64_t>(), parent);
      for (int64_t j = 0; j < d; ++j) {
        const double scale = 0.5 * smoothing * sigma[j].item<double>();
        const double want = wide.x[parent][j].item<double>() + rng.normal() * scale;
        EXPECT_EQ(out.x[row][j].item<double>(), want) << "row " << row << " column " << j;
      }
    }
  }
  EXPECT_EQ(row, out.size());
}

TEST(NeighboursFloat64, KnnTellsApartValuesThatCollideInFloat32) {
  const auto x = colliding_rows(150, 1);
  // Sanity: the data really collides in float32.
  EXPECT_LT(std::get<0>(at::_unique2(x.to(torch::kFloat32).select(1, 1))).numel(),
            std::get<0>(at::_unique2(x.select(1, 1))).numel());
  const auto query = x.slice(0, 0, 80);
  for (int64_t k : {1, 4, 12}) {
    SCOPED_TRACE(k);
    const auto want = brute(x, query, k);
    // A search of the rows rounded to float32 gets these wrong: the test has teeth.
    EXPECT_NE(rows_of(neighbors::knn(x.to(torch::kFloat32), query.to(torch::kFloat32), k).indices), want);
    EXPECT_EQ(rows_of(neighbors::knn(x, query, k).indices), want);
    EXPECT_EQ(rows_of(neighbors::knn(x, query, k, {.tile_bytes = 4096, .device_path = true}).indices), want);
    // A float32 query against float64 rows is searched in float64 too.
    const auto q32 = torch::randn({10, 3}).to(torch::kFloat32) * 3.0f;
    EXPECT_EQ(rows_of(neighbors::knn(x, q32, k).indices), brute(x, q32.to(torch::kFloat64), k));
  }
  // Distances are the float64 ones.
  const auto r = neighbors::knn(x, query, 3);
  const auto ref = (query.unsqueeze(1) - x.index_select(0, r.indices.flatten()).view({80, 3, 3})).pow(2).sum(2).sqrt();
  EXPECT_TRUE(torch::allclose(r.distances, ref, 1e-12, 0.0));
  // The approximate backend builds its graph in float32 but measures and orders its candidates
  // on the float64 rows.
  const auto h = neighbors::knn(x, query, 3, {.backend = neighbors::Backend::Hnsw});
  const auto href = (query.unsqueeze(1) - x.index_select(0, h.indices.flatten()).view({80, 3, 3})).pow(2).sum(2).sqrt();
  EXPECT_TRUE(torch::allclose(h.distances, href, 1e-12, 0.0));
  EXPECT_TRUE(torch::all(h.distances.slice(1, 1) >= h.distances.slice(1, 0, 2)).item<bool>());
}

TEST(NeighboursFloat64, KnnPastFloat32RangeIsStillExact) {
  // Values float32 cannot hold at all (1e300 overflows it): the exact search takes over.
  Rng rng(4);
  auto x = torch::empty({60, 2}, torch::kFloat64);
  for (int64_t i = 0; i < 60; ++i)
    for (int64_t j = 0; j < 2; ++j) x[i][j] = (i % 3 ? 1e100 : -1e100) * (1.0 + 1e-12 * rng.uniform_int(100));
  EXPECT_EQ(rows_of(neighbors::knn(x, x, 5).indices), brute(x, x, 5));
  std::vector<int64_t> self(60);
  for (int64_t i = 0; i < 60; ++i) self[i] = i;
  EXPECT_EQ(rows_of(neighbors::knn_excluding_self(x, torch::arange(60), 4).indices), brute(x, x, 4, self));
}

TEST(NeighboursFloat64, ExcludingSelfAndScreensAreExactInFloat64) {
  const auto x = colliding_rows(400, 2);
  const int64_t n = x.size(0);
  std::vector<int64_t> self(n);
  for (int64_t i = 0; i < n; ++i) self[i] = i;
  EXPECT_NE(rows_of(neighbors::knn_excluding_self(x.to(torch::kFloat32), torch::arange(n), 5).indices),
            brute(x, x, 5, self));
  EXPECT_EQ(rows_of(neighbors::knn_excluding_self(x, torch::arange(n), 5).indices), brute(x, x, 5, self));

  // Labels: a small class sprinkled among a large one, so the screen partitions the large one.
  auto y = torch::zeros({n}, torch::kInt64);
  for (int64_t i = 0; i < n; i += 13) y[i] = 1;
  const auto queries = torch::arange(n);
  const int64_t k = 3;
  const auto s = neighbors::screen_neighbourhoods(x, y, queries, k);
  const auto want = brute(x, x, k, self);
  for (int64_t i = 0; i < n; ++i) {
    bool mixed = false;
    for (auto j : want[i]) mixed |= y[j].item<int64_t>() != y[i].item<int64_t>();
    ASSERT_EQ(s.mixed[i].item<bool>(), mixed) << "row " << i;
    if (mixed) EXPECT_EQ(rows_of(s.indices.slice(0, i, i + 1))[0], want[i]) << "row " << i;
  }

  // k_closer_than never claims what float64 distances deny, even where float32 sees equal rows.
  const auto pool = torch::arange(n);
  std::vector<double> limit(n);
  const double* p = x.contiguous().data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) limit[i] = neighbors::squared_distance(p + i * 3, p + want[i][1] * 3, 3);
  const auto closer = neighbors::k_closer_than(x, pool, queries, torch::tensor(limit, torch::kFloat64), 2);
  for (int64_t i = 0; i < n; ++i) {
    // Two rows strictly closer than the 2nd nearest means the 2nd nearest is strictly closer
    // than itself: only possible if the claim is false.
    EXPECT_FALSE(closer[i].item<bool>()) << "row " << i;
  }
}

TEST(NeighboursFloat64, CleaningSamplersSeeFloat64Neighbours) {
  // Tomek links exist only in float64 here: pairs 4e9 + {0, 1} of opposite classes, each the
  // other's nearest, which a float32 search cannot single out from the rows at 4e9 + 2.
  std::vector<double> v;
  std::vector<int64_t> y;
  for (int64_t i = 0; i < 40; ++i) {
    v.push_back(4e9 + 10.0 * i);
    y.push_back(0);
    v.push_back(4e9 + 10.0 * i + 1.0);
    y.push_back(i % 2);
    v.push_back(4e9 + 10.0 * i + 4.0);
    y.push_back(0);
  }
  v.push_back(0.0);
  y.push_back(0);
  const auto x = torch::tensor(v, torch::kFloat64).unsqueeze(1);
  const auto data = Dataset::from_tensors(x, torch::tensor(y), {"a", "b"});
  const auto out = make_sampler("tomek_links:sampling_strategy=all")->fit_resample(data);
  // Row 3i+1 of class b (odd i) and row 3i (class a) link; every other row stays.
  std::vector<int64_t> want;
  for (int64_t i = 0; i < static_cast<int64_t>(y.size()); ++i) {
    const int64_t site = i / 3, pos = i % 3;
    const bool linked = i < 120 && site % 2 == 1 && pos <= 1;
    if (!linked) want.push_back(i);
  }
  const auto got = std::get<0>(out.origin.sort()).contiguous();
  EXPECT_EQ(std::vector<int64_t>(got.data_ptr<int64_t>(), got.data_ptr<int64_t>() + got.numel()), want);
  EXPECT_EQ(out.x.scalar_type(), torch::kFloat64);
}

TEST(TrainerDtype, TrainsAndPredictsOnFloat64Data) {
  SyntheticOptions o;
  o.n = 300;
  o.features = 6;
  o.weights = {0.8, 0.2};
  o.seed = 2;
  const auto d32 = make_synthetic(o);
  const auto d64 = with_x(d32, d32.x.to(torch::kFloat64));
  const auto train = d64.subset(torch::arange(0, 200)), val = d64.subset(torch::arange(200, 300));
  train::TrainOptions t;
  t.model = "mlp:hidden=[8]";
  t.epochs = 2;
  t.batch_size = 32;
  t.progress = false;
  std::ostringstream log;
  const auto r = train::fit(train, val, t, log);
  const auto logits = train::predict_logits(*r.model, val.x);
  EXPECT_EQ(logits.scalar_type(), torch::kFloat32);
  EXPECT_EQ(logits.size(0), 100);
  // The networks are float32: float64 data exactly representable in float32 trains the same.
  const auto r32 = train::fit(d32.subset(torch::arange(0, 200)), d32.subset(torch::arange(200, 300)), t, log);
  EXPECT_TRUE(torch::equal(train::predict_logits(*r32.model, d32.subset(torch::arange(200, 300)).x), logits));
}

#include "rebalance/data/csv.hpp"

#include <torch/torch.h>

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/mapped_file.hpp"
#include "rebalance/core/number_text.hpp"

namespace rebalance {

namespace {

Dataset make_dataset(const csv::Table& tb, std::vector<double>&& parsed, CsvInfo* info) {
  const int64_t n = tb.num_rows(), d = tb.num_features();
  REBALANCE_CHECK(static_cast<int64_t>(parsed.size()) == n * d, "{}: the table's values are gone", tb.path);
  // The parsed values become the tensor's storage: no copy.
  auto* values = new std::vector<double>(std::move(parsed));
  auto x = torch::from_blob(values->data(), {n, d}, [values](void*) { delete values; }, torch::kFloat64);
  auto y = torch::tensor(tb.y, torch::kInt64);
  auto ds = Dataset::from_tensors(x, y, tb.class_names, tb.path);
  for (auto c : tb.feature_columns) ds.feature_names.push_back(tb.names[c]);
  if (info) {
    CsvInfo found;
    for (int64_t j = 0; j < d; ++j)
      if (tb.categorical[j]) {
        found.categorical_features.push_back(j);
        found.categories.push_back(tb.categories[j]);
        if (tb.text_columns[j]) found.text_features.push_back(j);
      }
    *info = std::move(found);
  }
  return ds;
}

}  // namespace

Dataset dataset_from_table(const csv::Table& table, CsvInfo* info) {
  return make_dataset(table, std::vector<double>(table.x), info);
}

Dataset read_csv(const std::string& path, const CsvOptions& options, CsvInfo* info) {
  auto table = std::make_shared<csv::Table>(csv::read(path, options));
  // The values move into the tensor; the table keeps only the raw text and the spans.
  auto ds = make_dataset(*table, std::move(table->x), info);
  if (info) info->table = std::move(table);
  return ds;
}

namespace {

bool needs_quotes(std::string_view s, char delim) {
  if (s.empty()) return false;
  return s.find_first_of(std::string{delim, '"', '\n', '\r'}) != std::string_view::npos || s.front() == ' ' ||
         s.back() == ' ';
}

void append_text(std::string& out, std::string_view s, char delim) {
  if (!needs_quotes(s, delim)) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

/// Rows [0, n) formatted by `row(i, line)` in parallel blocks and written in order, so the output
/// needs at most a few blocks of text in memory.
template <typename RowFn>
void write_rows(std::ostream& out, int64_t n, const RowFn& row) {
  const int threads = std::max(1, omp_get_max_threads());
  constexpr int64_t kBlock = 4096;
  const int64_t per_round = kBlock * threads * 2;
  std::vector<std::string> text(static_cast<size_t>(threads) * 2);
  for (int64_t r0 = 0; r0 < n; r0 += per_round) {
    const int64_t r1 = std::min(n, r0 + per_round);
    const int64_t blocks = (r1 - r0 + kBlock - 1) / kBlock;
    std::exception_ptr failure;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t b = 0; b < blocks; ++b) {
      auto& s = text[b];
      s.clear();
      try {
        for (int64_t i = r0 + b * kBlock, e = std::min(r1, r0 + (b + 1) * kBlock); i < e; ++i) row(i, s);
      } catch (...) {
#pragma omp critical
        if (!failure) failure = std::current_exception();
      }
    }
    if (failure) std::rethrow_exception(failure);
    for (int64_t b = 0; b < blocks; ++b) out.write(text[b].data(), static_cast<std::streamsize>(text[b].size()));
  }
}

/// The data set's columns on the CPU, contiguous, as raw pointers for the row formatters.
template <typename T>
struct HostRows {
  at::Tensor x, y, origin, parents;
  const T* px;
  const int64_t *py, *po, *pp;
  explicit HostRows(const Dataset& data)
      : x(data.x2d().to(torch::kCPU).contiguous()),
        y(data.y.to(torch::kCPU, torch::kInt64).contiguous()),
        origin(data.origin.to(torch::kCPU, torch::kInt64).contiguous()),
        parents(data.parents_or_none().to(torch::kCPU, torch::kInt64).contiguous()),
        px(x.data_ptr<T>()),
        py(y.data_ptr<int64_t>()),
        po(origin.data_ptr<int64_t>()),
        pp(parents.data_ptr<int64_t>()) {}
};

template <typename T>
void write_with_source(std::ostream& out, const Dataset& data, const csv::Table& src, const CsvWriteOptions& opt) {
  const HostRows<T> h(data);
  const T* px = h.px;
  const int64_t *py = h.py, *po = h.po, *pp = h.pp;
  const int64_t n = data.size(), d = src.num_features(), ncol = src.num_columns(), nsrc = src.num_rows();
  const char delim = src.delimiter;
  const std::string eol = src.crlf ? "\r\n" : "\n";
  const bool dropped = std::find(src.roles.begin(), src.roles.end(), csv::Role::Dropped) != src.roles.end();
  std::vector<int64_t> feature_of(ncol, -1);
  for (int64_t j = 0; j < d; ++j) feature_of[src.feature_columns[j]] = j;

  std::string head = src.bom ? "\xEF\xBB\xBF" : "";
  if (!dropped) {
    head += src.raw(src.header);
  } else {
    bool first = true;
    for (int64_t c = 0; c < ncol; ++c)
      if (src.roles[c] != csv::Role::Dropped) {
        if (!first) head += delim;
        head += src.raw(src.header_fields[c]);
        first = false;
      }
  }
  if (opt.provenance_columns)
    for (const char* name : {"origin", "parent0", "parent1"}) {
      REBALANCE_CHECK(std::find(src.names.begin(), src.names.end(), name) == src.names.end(),
                      "{}: already has a column \"{}\"; the provenance columns would clash with it", src.path, name);
      (head += delim) += name;
    }
  head += eol;
  out.write(head.data(), static_cast<std::streamsize>(head.size()));

  write_rows(out, n, [&](int64_t i, std::string& line) {
    const int64_t o = po[i];
    if (o >= 0) {
      REBALANCE_CHECK(o < nsrc, "{}: output row {} names source row {}, but the input has {} rows", src.path, i, o,
                      nsrc);
      REBALANCE_CHECK(src.y[o] == py[i], "{}: output row {} is source row {} but its class changed ({} -> {})",
                      src.path, i, o, src.class_names[src.y[o]], data.class_names[py[i]]);
      if (!dropped) {
        line += src.raw(src.rows[o]);
      } else {
        std::vector<csv::Span> f;
        src.split(src.rows[o], f);
        bool first = true;
        for (int64_t c = 0; c < ncol; ++c)
          if (src.roles[c] != csv::Role::Dropped) {
            if (!first) line += delim;
            line += src.raw(f[c]);
            first = false;
          }
      }
    } else {
      bool first = true;
      for (int64_t c = 0; c < ncol; ++c) {
        const auto role = src.roles[c];
        if (role == csv::Role::Dropped) continue;
        if (!first) line += delim;
        first = false;
        if (role == csv::Role::Label) {
          line += src.raw(src.class_spans[py[i]]);
        } else if (role == csv::Role::Feature) {
          const int64_t j = feature_of[c];
          const T v = px[i * d + j];
          if (src.categorical[j]) {
            // Codes back to the column's own spelling; an interpolated code (ordinal encoding
            // under a numeric sampler) takes the nearest category.
            const auto k = static_cast<int64_t>(src.categories[j].size());
            const auto code = std::clamp<int64_t>(static_cast<int64_t>(std::llround(static_cast<double>(v))), 0, k - 1);
            line += src.raw(src.category_spans[j][code]);
          } else {
            append_number(line, v);
          }
        }
      }
    }
    if (opt.provenance_columns) {
      fmt::format_to(std::back_inserter(line), "{}{}{}{}{}{}", delim, o, delim, o >= 0 ? -1 : pp[i * 2], delim,
                     o >= 0 ? -1 : pp[i * 2 + 1]);
    }
    line += eol;
  });
}

template <typename T>
void write_plain(std::ostream& out, const Dataset& data, const std::string& label_name, const CsvWriteOptions& opt) {
  const HostRows<T> h(data);
  const T* px = h.px;
  const int64_t *py = h.py, *po = h.po, *pp = h.pp;
  const int64_t n = data.size(), d = data.num_features();
  std::string head;
  for (int64_t j = 0; j < d; ++j) {
    append_text(head, data.feature_names.empty() ? fmt::format("f{}", j) : data.feature_names[j], ',');
    head += ',';
  }
  append_text(head, label_name, ',');
  if (opt.provenance_columns) head += ",origin,parent0,parent1";
  head += '\n';
  out.write(head.data(), static_cast<std::streamsize>(head.size()));
  std::vector<std::string> labels;
  for (const auto& name : data.class_names) {
    labels.emplace_back();
    append_text(labels.back(), name, ',');
  }
  write_rows(out, n, [&](int64_t i, std::string& line) {
    for (int64_t j = 0; j < d; ++j) {
      append_number(line, px[i * d + j]);
      line += ',';
    }
    line += labels[py[i]];
    if (opt.provenance_columns) fmt::format_to(std::back_inserter(line), ",{},{},{}", po[i], pp[i * 2], pp[i * 2 + 1]);
    line += '\n';
  });
}

void check_writable(const Dataset& data, const std::string& path) {
  REBALANCE_CHECK(data.x.scalar_type() == torch::kFloat32 || data.x.scalar_type() == torch::kFloat64,
                  "{}: cannot write {} features as CSV", path, std::string(c10::toString(data.x.scalar_type())));
}

}  // namespace

void write_csv(const std::string& path, const Dataset& data, const csv::Table& source, const CsvWriteOptions& options) {
  check_writable(data, path);
  REBALANCE_CHECK(data.num_features() == source.num_features(),
                  "{}: the data has {} features but its source {} has {} feature columns", path, data.num_features(),
                  source.path, source.num_features());
  REBALANCE_CHECK(data.class_names == source.class_names, "{}: the data's classes differ from those of {}", path,
                  source.path);
  write_atomic(path, [&](std::ostream& out) {
    if (data.x.scalar_type() == torch::kFloat64)
      write_with_source<double>(out, data, source, options);
    else
      write_with_source<float>(out, data, source, options);
  });
}

void write_csv(const std::string& path, const Dataset& data, const std::string& label_name,
               const CsvWriteOptions& options) {
  check_writable(data, path);
  write_atomic(path, [&](std::ostream& out) {
    if (data.x.scalar_type() == torch::kFloat64)
      write_plain<double>(out, data, label_name, options);
    else
      write_plain<float>(out, data, label_name, options);
  });
}

}  // namespace rebalance

#include "rebalance/data/csv.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include <fmt/ranges.h>

#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/spec.hpp"

namespace rebalance {

namespace {

struct Row {
  int64_t line;  // 1-based physical line where the row starts
  std::vector<std::string> fields;
};

/// RFC 4180 tokeniser: quoted fields may hold delimiters, doubled quotes and newlines.
std::vector<Row> tokenize(const std::string& text, char delim, const std::string& path) {
  std::vector<Row> rows;
  Row row{1, {}};
  std::string field;
  bool quoted = false, field_started = false, row_has_content = false;
  int64_t line = 1;
  auto end_field = [&] {
    row.fields.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  auto end_row = [&] {
    if (row_has_content) {
      end_field();
      rows.push_back(std::move(row));
    }
    row = Row{line + 1, {}};
    field.clear();
    field_started = row_has_content = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = field_started = row_has_content = true;
    } else if (c == delim) {
      row_has_content = true;
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_row();
      ++line;
    } else {
      field += c;
      field_started = row_has_content = true;
    }
  }
  REBALANCE_CHECK(!quoted, "{}:{}: unterminated quoted field", path, row.line);
  end_row();
  return rows;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

int64_t resolve_column(const std::string& key, const std::vector<std::string>& header, const std::string& path,
                       const char* role) {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == key) return static_cast<int64_t>(i);
  if (auto n = parse_int(key); n && *n >= 0 && *n < static_cast<int64_t>(header.size())) return *n;
  REBALANCE_THROW("{}: no {} column \"{}\" (columns: {})", path, role, key, fmt::join(header, ", "));
}

}  // namespace

Dataset read_csv(const std::string& path, const CsvOptions& opt, CsvInfo* info) {
  const std::string text = read_file(path);
  auto rows = tokenize(text, opt.delimiter, path);
  REBALANCE_CHECK(!rows.empty(), "{}: empty file, expected a header row and data", path);
  std::vector<std::string> header;
  for (auto& h : rows[0].fields) header.push_back(trim(h));
  REBALANCE_CHECK(rows.size() > 1, "{}: only a header row, no data", path);
  const int64_t ncol = static_cast<int64_t>(header.size());
  REBALANCE_CHECK(ncol >= 2, "{}:1: the header has {} column(s); need at least one feature and a label", path,
                  ncol);

  const int64_t label_col = opt.label.empty() ? ncol - 1 : resolve_column(opt.label, header, path, "label");
  std::vector<bool> dropped(ncol, false);
  for (const auto& d : opt.drop) dropped[resolve_column(d, header, path, "dropped")] = true;
  REBALANCE_CHECK(!dropped[label_col], "{}: the label column \"{}\" is also dropped", path, header[label_col]);

  std::vector<int64_t> feature_cols;
  for (int64_t c = 0; c < ncol; ++c)
    if (c != label_col && !dropped[c]) feature_cols.push_back(c);
  REBALANCE_CHECK(!feature_cols.empty(), "{}: no feature columns left besides the label", path);

  const int64_t n = static_cast<int64_t>(rows.size()) - 1;
  for (int64_t r = 1; r <= n; ++r) {
    auto& f = rows[r].fields;
    REBALANCE_CHECK(static_cast<int64_t>(f.size()) == ncol, "{}:{}: ragged row: {} fields, the header has {}",
                    path, rows[r].line, f.size(), ncol);
    for (auto& v : f) v = trim(v);
  }
  auto where = [&](int64_t r, int64_t c) {
    return fmt::format("{}:{}: column {} (\"{}\")", path, rows[r].line, c + 1, header[c]);
  };

  // Pass 1: type each feature column. A column whose values are mostly not numbers is categorical;
  // a mostly numeric column with a stray word is a typo and is reported where it is.
  const int64_t d = static_cast<int64_t>(feature_cols.size());
  std::vector<bool> categorical(d, false);
  for (int64_t j = 0; j < d; ++j) {
    const int64_t c = feature_cols[j];
    int64_t numeric = 0, other = 0, first_other = -1;
    for (int64_t r = 1; r <= n; ++r) {
      const auto& v = rows[r].fields[c];
      REBALANCE_CHECK(!v.empty(), "{}: missing value", where(r, c));
      if (parse_double(v)) {
        ++numeric;
      } else {
        ++other;
        if (first_other < 0) first_other = r;
      }
    }
    if (other > numeric) {
      categorical[j] = true;
    } else if (other > 0) {
      REBALANCE_THROW("{}: cannot parse \"{}\" as a number", where(first_other, c), rows[first_other].fields[c]);
    }
  }
  std::vector<std::string> cat_report;
  for (int64_t j = 0; j < d; ++j)
    if (categorical[j]) {
      std::set<std::string> distinct;
      for (int64_t r = 1; r <= n && distinct.size() < 4; ++r) distinct.insert(rows[r].fields[feature_cols[j]]);
      cat_report.push_back(fmt::format("column {} (\"{}\", values like {})", feature_cols[j] + 1,
                                       header[feature_cols[j]], fmt::join(distinct, ", ")));
    }
  REBALANCE_CHECK(cat_report.empty() || opt.categorical_ordinal,
                  "{}: categorical feature column(s) found: {}. Features must be numeric: encode them "
                  "(--categorical ordinal) or drop them (--drop NAME)", path, fmt::join(cat_report, "; "));

  // Pass 2: fill the feature matrix.
  auto x = torch::empty({n, d}, torch::kFloat32);
  auto xa = x.accessor<float, 2>();
  CsvInfo found;
  std::vector<std::string> feature_names;
  for (int64_t j = 0; j < d; ++j) {
    const int64_t c = feature_cols[j];
    feature_names.push_back(header[c]);
    if (categorical[j]) {
      std::set<std::string> distinct;
      for (int64_t r = 1; r <= n; ++r) distinct.insert(rows[r].fields[c]);
      std::vector<std::string> cats(distinct.begin(), distinct.end());
      for (int64_t r = 1; r <= n; ++r)
        xa[r - 1][j] = static_cast<float>(std::lower_bound(cats.begin(), cats.end(), rows[r].fields[c]) - cats.begin());
      found.categorical_features.push_back(j);
      found.categories.push_back(std::move(cats));
      continue;
    }
    for (int64_t r = 1; r <= n; ++r) {
      const double v = *parse_double(rows[r].fields[c]);
      REBALANCE_CHECK(std::isfinite(v), "{}: value \"{}\" is not finite; features must be finite", where(r, c),
                      rows[r].fields[c]);
      REBALANCE_CHECK(std::fabs(v) <= 3.4e38, "{}: value \"{}\" overflows float32", where(r, c), rows[r].fields[c]);
      xa[r - 1][j] = static_cast<float>(v);
    }
  }

  // Labels: sorted distinct values, numerically when all are numbers.
  std::vector<std::string> labels(n);
  bool all_numeric = true;
  for (int64_t r = 1; r <= n; ++r) {
    labels[r - 1] = rows[r].fields[label_col];
    REBALANCE_CHECK(!labels[r - 1].empty(), "{}: missing label", where(r, label_col));
    all_numeric = all_numeric && parse_double(labels[r - 1]).has_value();
  }
  std::vector<std::string> names = labels;
  std::sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    return all_numeric ? *parse_double(a) < *parse_double(b) : a < b;
  });
  names.erase(std::unique(names.begin(), names.end()), names.end());
  REBALANCE_CHECK(static_cast<int>(names.size()) >= opt.min_classes,
                  "{}: label column \"{}\" holds {} class(es) ({}); need at least {}", path, header[label_col],
                  names.size(), fmt::join(names, ", "), opt.min_classes);
  auto y = torch::empty({n}, torch::kInt64);
  auto ya = y.accessor<int64_t, 1>();
  for (int64_t r = 0; r < n; ++r)
    ya[r] = std::find(names.begin(), names.end(), labels[r]) - names.begin();

  auto ds = Dataset::from_tensors(x, y, names, path);
  ds.feature_names = std::move(feature_names);
  if (info) *info = std::move(found);
  return ds;
}

void write_csv(const std::string& path, const Dataset& data, const std::string& label_name) {
  const auto x = data.x2d().cpu().contiguous();
  const auto y = data.y.cpu();
  const int64_t n = data.size(), d = data.num_features();
  write_atomic(path, [&](std::ostream& out) {
    std::vector<std::string> header;
    for (int64_t j = 0; j < d; ++j)
      header.push_back(data.feature_names.empty() ? fmt::format("f{}", j) : data.feature_names[j]);
    header.push_back(label_name);
    out << fmt::format("{}\n", fmt::join(header, ","));
    auto xa = x.accessor<float, 2>();
    auto ya = y.accessor<int64_t, 1>();
    std::string line;
    for (int64_t i = 0; i < n; ++i) {
      line.clear();
      for (int64_t j = 0; j < d; ++j) fmt::format_to(std::back_inserter(line), "{},", xa[i][j]);
      const auto& name = data.class_names[ya[i]];
      const bool quote = name.find_first_of(",\"\n") != std::string::npos;
      line += quote ? "\"" + std::regex_replace(name, std::regex("\""), "\"\"") + "\"" : name;
      line += '\n';
      out << line;
    }
  }, false);
}

}  // namespace rebalance

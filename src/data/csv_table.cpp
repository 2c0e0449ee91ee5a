#include "rebalance/data/csv_table.hpp"

#include <fast_float/fast_float.h>
#include <omp.h>

#include <cmath>

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <list>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "rebalance/core/error.hpp"
#include "rebalance/core/mapped_file.hpp"
#include "rebalance/core/number_text.hpp"

namespace rebalance {

char parse_delimiter(const std::string& text, const std::string& what) {
  if (text.empty()) return 0;
  if (text == "tab" || text == "\\t" || text == "\t") return '\t';
  if (text == "comma") return ',';
  if (text == "semicolon") return ';';
  if (text == "space") return ' ';
  REBALANCE_CHECK(text.size() == 1 && text != "\"" && text != "\n" && text != "\r",
                  "{} \"{}\": expected one character (or tab, comma, semicolon, space)", what, text);
  return text[0];
}

}  // namespace rebalance

namespace rebalance::csv {

namespace {

inline bool is_blank(char c, char delim) { return c == ' ' || (c == '\t' && delim != '\t'); }

std::string_view trim(std::string_view s, char delim) {
  size_t b = 0, e = s.size();
  while (b < e && is_blank(s[b], delim)) ++b;
  while (e > b && is_blank(s[e - 1], delim)) --e;
  return s.substr(b, e - b);
}

/// End of the row starting at `p`: the position of its '\n' (or the end of the text). Sets
/// `open_quote` if a quoted field runs past the end of the text.
uint64_t row_end(std::string_view t, uint64_t p, bool quotes, bool& open_quote) {
  open_quote = false;
  if (!quotes) {
    const void* hit = std::memchr(t.data() + p, '\n', t.size() - p);
    return hit ? static_cast<uint64_t>(static_cast<const char*>(hit) - t.data()) : t.size();
  }
  bool in = false;
  for (; p < t.size(); ++p) {
    const char c = t[p];
    if (c == '"') in = !in;
    else if (c == '\n' && !in) break;
  }
  open_quote = in;
  return p;
}

/// Whether a raw line holds nothing but blanks (and a CR).
bool blank_line(std::string_view t, uint64_t b, uint64_t e, char delim) {
  for (uint64_t i = b; i < e; ++i)
    if (!is_blank(t[i], delim) && t[i] != '\r') return false;
  return true;
}

int64_t resolve_column(const std::string& key, const std::vector<std::string>& names, const std::string& path,
                       const char* role) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == key) return static_cast<int64_t>(i);
  int64_t n = -1;
  if (!key.empty() && std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      key.size() < 10)
    n = std::stoll(key);
  if (n >= 0 && n < static_cast<int64_t>(names.size())) return n;
  REBALANCE_THROW("{}: no {} column \"{}\" (columns: {})", path, role, key, fmt::join(names, ", "));
}

/// Per block of rows: the first problem of each kind, and counts that type the columns.
struct BlockReport {
  int64_t ragged_row = -1;
  size_t ragged_fields = 0;
  std::vector<int64_t> not_number;        // per feature: cells that are not numbers
  std::vector<int64_t> first_not_number;  // per feature: first such row
  std::vector<int64_t> first_bad;         // per feature: first row with another problem
  std::vector<NumberStatus> bad_status;
  std::list<std::string> owned;  // unescaped quoted labels
  std::exception_ptr failure;

  /// Parse feature j's cell `v` of row r into `out`, or count / remember why it is not a number.
  void cell(std::string_view v, int64_t r, int64_t j, double& out) {
    double value = 0.0;
    const NumberStatus st = parse_number(v, value);
    if (st == NumberStatus::Ok) {
      out = value;
    } else if (st == NumberStatus::NotANumber) {
      if (not_number[j]++ == 0) first_not_number[j] = r;
    } else if (first_bad[j] < 0) {
      first_bad[j] = r;
      bad_status[j] = st;
    }
  }
};

}  // namespace

int64_t Table::line_of(uint64_t offset) const {
  offset = std::min<uint64_t>(offset, text.size());
  return 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n');
}

void Table::split(Span row, std::vector<Span>& fields) const {
  fields.clear();
  const char* t = text.data();
  uint64_t p = row.begin;
  const uint64_t e = row.end;
  for (;;) {
    const uint64_t fb = p;
    uint64_t q = p;
    if (quotes)
      while (q < e && is_blank(t[q], delimiter)) ++q;
    if (quotes && q < e && t[q] == '"') {
      uint64_t k = q + 1;
      for (;;) {
        const void* hit = k < e ? std::memchr(t + k, '"', e - k) : nullptr;
        REBALANCE_CHECK(hit, "{}:{}: unterminated quoted field", path, line_of(q));
        k = static_cast<uint64_t>(static_cast<const char*>(hit) - t);
        if (k + 1 < e && t[k + 1] == '"') {
          k += 2;
          continue;
        }
        break;
      }
      ++k;
      while (k < e && (is_blank(t[k], delimiter) || t[k] == '\r')) ++k;
      REBALANCE_CHECK(k >= e || t[k] == delimiter, "{}:{}: unexpected character '{}' after a closing quote",
                      path, line_of(k), t[k]);
      fields.push_back({fb, k});
      if (k >= e) break;
      p = k + 1;
    } else {
      uint64_t k = p;
      while (k < e && t[k] != delimiter) ++k;
      fields.push_back({fb, k});
      if (k >= e) break;
      p = k + 1;
    }
  }
}

std::vector<size_t> label_order(const std::vector<std::string_view>& values) {
  std::vector<double> num(values.size());
  bool all_numeric = true;
  for (size_t i = 0; i < values.size(); ++i)
    all_numeric = all_numeric && parse_number(values[i], num[i]) == NumberStatus::Ok;
  std::vector<size_t> order(values.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (all_numeric && num[a] != num[b]) return num[a] < num[b];
    return values[a] < values[b];
  });
  return order;
}

std::string unquote(std::string_view raw, char delim) {
  const auto t = trim(raw, delim);
  if (t.size() >= 2 && t.front() == '"' && t.back() == '"') {
    std::string out;
    out.reserve(t.size() - 2);
    for (size_t i = 1; i + 1 < t.size(); ++i) {
      out += t[i];
      if (t[i] == '"' && i + 2 < t.size() && t[i + 1] == '"') ++i;
    }
    return out;
  }
  return std::string(t);
}

Table read(const std::string& path, const CsvOptions& options) {
  return parse(MappedFile::open(path), path, options);
}

Table parse(std::shared_ptr<const MappedFile> file, const std::string& path, const CsvOptions& opt) {
  Table tb;
  tb.path = path;
  tb.file = std::move(file);
  tb.text = tb.file->bytes();
  const std::string_view t = tb.text;
  if (opt.delimiter) {
    tb.delimiter = opt.delimiter;
  } else {
    const auto ext = std::filesystem::path(path).extension().string();
    tb.delimiter = ext == ".tsv" || ext == ".tab" ? '\t' : ',';
  }
  const char delim = tb.delimiter;
  REBALANCE_CHECK(delim != '"' && delim != '\n' && delim != '\r', "{}: the delimiter cannot be a quote or a line end",
                  path);
  uint64_t p = 0;
  if (t.size() >= 3 && t.compare(0, 3, "\xEF\xBB\xBF") == 0) {
    tb.bom = true;
    p = 3;
  }
  tb.quotes = std::memchr(t.data(), '"', t.size()) != nullptr;

  // Header: the first line that is not blank.
  bool open_quote = false;
  for (;;) {
    REBALANCE_CHECK(p < t.size(), "{}: empty file, expected a header row and data", path);
    const uint64_t e = row_end(t, p, tb.quotes, open_quote);
    REBALANCE_CHECK(!open_quote, "{}:{}: unterminated quoted field", path, tb.line_of(p));
    if (!blank_line(t, p, e, delim)) {
      tb.crlf = e > p && t[e - 1] == '\r';
      tb.header = {p, e > p && t[e - 1] == '\r' ? e - 1 : e};
      p = e < t.size() ? e + 1 : e;
      break;
    }
    p = e + 1;
  }
  tb.split(tb.header, tb.header_fields);
  for (const auto& f : tb.header_fields) tb.names.push_back(unquote(tb.raw(f), delim));
  const int64_t ncol = tb.num_columns();
  REBALANCE_CHECK(ncol >= 2, "{}:{}: the header has {} column(s); need at least one feature and a label", path,
                  tb.line_of(tb.header.begin), ncol);

  // Column roles.
  tb.label_column = opt.label.empty() ? ncol - 1 : resolve_column(opt.label, tb.names, path, "label");
  tb.roles.assign(ncol, Role::Feature);
  for (const auto& d : opt.drop) tb.roles[resolve_column(d, tb.names, path, "dropped")] = Role::Dropped;
  for (const auto& d : opt.passthrough) {
    const auto c = resolve_column(d, tb.names, path, "passthrough");
    REBALANCE_CHECK(tb.roles[c] != Role::Dropped, "{}: column \"{}\" is both dropped and passed through", path,
                    tb.names[c]);
    tb.roles[c] = Role::Passthrough;
  }
  REBALANCE_CHECK(tb.roles[tb.label_column] == Role::Feature, "{}: the label column \"{}\" is also {}", path,
                  tb.names[tb.label_column], tb.roles[tb.label_column] == Role::Dropped ? "dropped" : "passed through");
  tb.roles[tb.label_column] = Role::Label;
  for (int64_t c = 0; c < ncol; ++c)
    if (tb.roles[c] == Role::Feature) tb.feature_columns.push_back(c);
  REBALANCE_CHECK(!tb.feature_columns.empty(), "{}: no feature columns left besides the label", path);
  const int64_t d = tb.num_features();
  std::vector<int64_t> feature_of(ncol, -1);
  for (int64_t j = 0; j < d; ++j) feature_of[tb.feature_columns[j]] = j;
  std::vector<uint8_t> declared(d, 0);
  for (const auto& name : opt.categorical) {
    const auto c = resolve_column(name, tb.names, path, "categorical");
    REBALANCE_CHECK(feature_of[c] >= 0, "{}: column \"{}\" is named categorical but is not a feature column", path,
                    tb.names[c]);
    declared[feature_of[c]] = 1;
  }

  // Rows: line-aligned chunks in parallel when nothing is quoted, one quote-aware pass otherwise.
  const int threads = std::max(1, opt.threads > 0 ? opt.threads : omp_get_max_threads());
  const uint64_t body = p;
  if (!tb.quotes && t.size() - body > (uint64_t(1) << 20) && threads > 1) {
    const int chunks = threads * 4;
    std::vector<uint64_t> cut(chunks + 1, t.size());
    cut[0] = body;
    for (int c = 1; c < chunks; ++c) {
      uint64_t q = body + (t.size() - body) * c / chunks;
      q = std::max(q, cut[c - 1]);
      const void* hit = q < t.size() ? std::memchr(t.data() + q, '\n', t.size() - q) : nullptr;
      cut[c] = hit ? static_cast<uint64_t>(static_cast<const char*>(hit) - t.data()) + 1 : t.size();
    }
    std::vector<std::vector<Span>> part(chunks);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int c = 0; c < chunks; ++c) {
      uint64_t q = cut[c];
      auto& out = part[c];
      out.reserve((cut[c + 1] - cut[c]) / 64 + 16);
      while (q < cut[c + 1]) {
        const void* hit = std::memchr(t.data() + q, '\n', cut[c + 1] - q);
        const uint64_t e = hit ? static_cast<uint64_t>(static_cast<const char*>(hit) - t.data()) : cut[c + 1];
        const uint64_t end = e > q && t[e - 1] == '\r' ? e - 1 : e;
        if (end > q && !is_blank(t[q], delim) ? true : !blank_line(t, q, end, delim)) out.push_back({q, end});
        q = e + 1;
      }
    }
    size_t total = 0;
    for (const auto& v : part) total += v.size();
    tb.rows.reserve(total);
    for (const auto& v : part) tb.rows.insert(tb.rows.end(), v.begin(), v.end());
  } else {
    while (p < t.size()) {
      const uint64_t e = row_end(t, p, tb.quotes, open_quote);
      REBALANCE_CHECK(!open_quote, "{}:{}: unterminated quoted field", path, tb.line_of(p));
      const uint64_t end = e > p && t[e - 1] == '\r' ? e - 1 : e;
      if (!blank_line(t, p, end, delim)) tb.rows.push_back({p, end});
      p = e + 1;
    }
  }
  const int64_t n = tb.num_rows();
  REBALANCE_CHECK(n > 0, "{}: only a header row, no data", path);

  // Fields: features parsed to float64 in place, labels kept as views.
  tb.x.resize(static_cast<size_t>(n * d));
  std::vector<std::string_view> labels(n);
  const int64_t nblocks = std::min<int64_t>(n, int64_t(threads) * 8);
  std::vector<BlockReport> reports(nblocks);
  const bool quotes = tb.quotes;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t b = 0; b < nblocks; ++b) {
    auto& rep = reports[b];
    rep.not_number.assign(d, 0);
    rep.first_not_number.assign(d, -1);
    rep.first_bad.assign(d, -1);
    rep.bad_status.assign(d, NumberStatus::Ok);
    std::vector<Span> fields;
    std::string scratch;
    const int64_t r0 = n * b / nblocks, r1 = n * (b + 1) / nblocks;
    try {
    for (int64_t r = r0; r < r1; ++r) {
      const Span row = tb.rows[r];
      if (!quotes) {
        // Nothing quoted: split and parse in one pass, fast_float stopping at the delimiter.
        double* xr = tb.x.data() + r * d;
        uint64_t q = row.begin;
        bool ragged = false;
        for (int64_t c = 0; c < ncol; ++c) {
          const Role role = tb.roles[c];
          const int64_t j = feature_of[c];
          uint64_t k = q;
          bool parsed = false;
          if (role == Role::Feature && !declared[j]) {
            uint64_t b = q;
            while (b < row.end && is_blank(t[b], delim)) ++b;
            double value = 0.0;
            const auto res = fast_float::from_chars(t.data() + b, t.data() + row.end, value);
            if (res.ec == std::errc()) {
              const auto e = static_cast<uint64_t>(res.ptr - t.data());
              k = e;
              while (k < row.end && is_blank(t[k], delim)) ++k;
              // Finite, short (no integer past 2^53 possible) and not an underflow to 0: done.
              bool zero_ok = value != 0.0;
              if (!zero_ok) {
                zero_ok = true;
                for (uint64_t i = b; i < e && t[i] != 'e' && t[i] != 'E'; ++i) zero_ok = zero_ok && !(t[i] >= '1' && t[i] <= '9');
              }
              if ((k == row.end || t[k] == delim) && std::isfinite(value) && e - b <= 15 && zero_ok) {
                xr[j] = value;
                parsed = true;
              }
            }
          }
          if (!parsed) {
            k = q;
            while (k < row.end && t[k] != delim) ++k;
            const std::string_view v = trim(t.substr(q, k - q), delim);
            if (role == Role::Label) {
              labels[r] = v;
            } else if (role == Role::Feature && !declared[j]) {
              rep.cell(v, r, j, xr[j]);
            }
          }
          if ((c + 1 < ncol) == (k >= row.end)) {  // fields ran out early, or some are left over
            ragged = true;
            break;
          }
          q = k + 1;
        }
        if (ragged && rep.ragged_row < 0)
          rep.ragged_row = r, rep.ragged_fields = 1 + std::count(t.begin() + row.begin, t.begin() + row.end, delim);
        continue;
      }
      tb.split(row, fields);
      if (static_cast<int64_t>(fields.size()) != ncol) {
        if (rep.ragged_row < 0) rep.ragged_row = r, rep.ragged_fields = fields.size();
        continue;
      }
      double* xr = tb.x.data() + r * d;
      for (int64_t c = 0; c < ncol; ++c) {
        const Role role = tb.roles[c];
        if (role == Role::Passthrough || role == Role::Dropped) continue;
        std::string_view v = trim(tb.raw(fields[c]), delim);
        if (quotes && v.size() >= 2 && v.front() == '"') {
          const bool escaped = v.substr(1, v.size() - 2).find('"') != std::string_view::npos;
          if (escaped) {
            scratch = unquote(v, delim);
            if (role == Role::Label) {
              rep.owned.push_back(scratch);
              v = rep.owned.back();
            } else {
              v = scratch;
            }
          } else {
            v = v.substr(1, v.size() - 2);
          }
        }
        if (role == Role::Label) {
          labels[r] = v;
          continue;
        }
        const int64_t j = feature_of[c];
        if (declared[j]) continue;
        rep.cell(v, r, j, xr[j]);
      }
    }
    } catch (...) {
      rep.failure = std::current_exception();  // a malformed quoted field: rethrown in row order
    }
  }
  for (const auto& rep : reports)
    if (rep.failure) std::rethrow_exception(rep.failure);

  auto cell = [&](int64_t r, int64_t c) {
    std::vector<Span> f;
    tb.split(tb.rows[r], f);
    return std::string(trim(tb.raw(f[c]), delim));
  };
  auto where = [&](int64_t r, int64_t c) {
    return fmt::format("{}:{}: column {} (\"{}\")", path, tb.line_of(tb.rows[r].begin), c + 1, tb.names[c]);
  };
  for (const auto& rep : reports)
    REBALANCE_CHECK(rep.ragged_row < 0, "{}:{}: ragged row: {} fields, the header has {}", path,
                    tb.line_of(tb.rows[rep.ragged_row].begin), rep.ragged_fields, ncol);

  // Type the feature columns: mostly text is categorical; a stray word in a numeric column is a
  // typo, reported where it is. Problems are reported at the earliest row, then column.
  tb.categorical.assign(d, 0);
  tb.text_columns.assign(d, 0);
  int64_t bad_row = -1, bad_col = -1;
  NumberStatus bad_status = NumberStatus::Ok;
  auto consider = [&](int64_t r, int64_t j, NumberStatus st) {
    if (r >= 0 && (bad_row < 0 || r < bad_row || (r == bad_row && tb.feature_columns[j] < bad_col)))
      bad_row = r, bad_col = tb.feature_columns[j], bad_status = st;
  };
  for (int64_t j = 0; j < d; ++j) {
    int64_t text_cells = 0, first_text = -1, first_bad = -1;
    NumberStatus st = NumberStatus::Ok;
    for (const auto& rep : reports) {
      text_cells += rep.not_number[j];
      if (first_text < 0) first_text = rep.first_not_number[j];
      if (first_bad < 0 && rep.first_bad[j] >= 0) first_bad = rep.first_bad[j], st = rep.bad_status[j];
    }
    if (declared[j]) {
      tb.categorical[j] = 1;
    } else if (text_cells > n - text_cells && !opt.numeric_only) {
      tb.categorical[j] = tb.text_columns[j] = 1;
    } else {
      consider(first_text, j, NumberStatus::NotANumber);
      consider(first_bad, j, st);
    }
  }
  if (bad_row >= 0) {
    const auto v = cell(bad_row, bad_col);
    if (bad_status == NumberStatus::Empty) REBALANCE_THROW("{}: missing value", where(bad_row, bad_col));
    if (bad_status == NumberStatus::NotANumber)
      REBALANCE_THROW("{}: cannot parse \"{}\" as a number (the rest of the column is numeric)", where(bad_row, bad_col),
                      v);
    REBALANCE_THROW("{}: value \"{}\" {}", where(bad_row, bad_col), v, describe(bad_status));
  }
  std::vector<std::string> text_report;
  for (int64_t j = 0; j < d; ++j)
    if (tb.text_columns[j]) {
      std::vector<std::string> some;
      for (int64_t r = 0; r < n && some.size() < 3; ++r) {
        auto v = cell(r, tb.feature_columns[j]);
        if (std::find(some.begin(), some.end(), v) == some.end()) some.push_back(v);
      }
      std::sort(some.begin(), some.end());
      text_report.push_back(fmt::format("column {} (\"{}\", values like {})", tb.feature_columns[j] + 1,
                                        tb.names[tb.feature_columns[j]], fmt::join(some, ", ")));
    }
  REBALANCE_CHECK(text_report.empty() || opt.allow_categorical || opt.categorical_ordinal,
                  "{}: categorical feature column(s) found: {}. Features must be numeric: use a sampler for "
                  "categorical data (smotenc, smoten), encode them (--categorical ordinal) or drop them (--drop NAME)",
                  path, fmt::join(text_report, "; "));

  // Categorical features: the column's own vocabulary, sorted (numerically when every value is a
  // number), x holds the codes; each category remembers the raw text of its first cell.
  tb.categories.assign(d, {});
  tb.category_spans.assign(d, {});
  for (int64_t j = 0; j < d; ++j) {
    if (!tb.categorical[j]) continue;
    const int64_t c = tb.feature_columns[j];
    std::vector<std::string> values(n);
    std::vector<Span> raw(n);
    // Every row was split once already without error, so this pass cannot throw.
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t r = 0; r < n; ++r) {
      std::vector<Span> f;
      tb.split(tb.rows[r], f);
      raw[r] = f[c];
      values[r] = unquote(tb.raw(f[c]), delim);
    }
    for (int64_t r = 0; r < n; ++r)
      REBALANCE_CHECK(!values[r].empty() || tb.raw(raw[r]).find('"') != std::string_view::npos, "{}: missing value",
                      where(r, c));
    std::unordered_map<std::string_view, int64_t> seen;
    std::vector<std::string_view> distinct;
    std::vector<Span> first_raw;
    for (int64_t r = 0; r < n; ++r)
      if (seen.emplace(values[r], static_cast<int64_t>(distinct.size())).second) {
        distinct.push_back(values[r]);
        first_raw.push_back(raw[r]);
      }
    std::vector<double> num(distinct.size());
    bool all_numeric = true;
    for (size_t i = 0; i < distinct.size(); ++i)
      all_numeric = all_numeric && parse_number(trim(distinct[i], delim), num[i]) == NumberStatus::Ok;
    std::vector<size_t> order(distinct.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (all_numeric && num[a] != num[b]) return num[a] < num[b];
      return distinct[a] < distinct[b];
    });
    std::vector<int64_t> code_of(distinct.size());
    for (size_t k = 0; k < order.size(); ++k) {
      code_of[order[k]] = static_cast<int64_t>(k);
      tb.categories[j].emplace_back(distinct[order[k]]);
      tb.category_spans[j].push_back(first_raw[order[k]]);
    }
    for (int64_t r = 0; r < n; ++r) tb.x[r * d + j] = static_cast<double>(code_of[seen[values[r]]]);
  }

  // Labels: sorted distinct values, numerically when all are numbers (scikit-learn's LabelEncoder).
  std::unordered_map<std::string_view, int64_t> label_id;
  std::vector<std::string_view> distinct;
  std::vector<int64_t> first_row;
  std::vector<int64_t> id(n);
  std::string_view last;
  int64_t last_id = -1;
  for (int64_t r = 0; r < n; ++r) {
    // An empty label must be quoted ("" is a class name; nothing at all is a missing label), even
    // right after a quoted "" row, so the check comes before the same-as-last shortcut.
    if (labels[r].empty()) {
      std::vector<Span> f;
      tb.split(tb.rows[r], f);
      REBALANCE_CHECK(tb.raw(f[tb.label_column]).find('"') != std::string_view::npos, "{}: missing label",
                      where(r, tb.label_column));
    }
    if (last_id >= 0 && labels[r] == last) {
      id[r] = last_id;
      continue;
    }
    auto [it, added] = label_id.emplace(labels[r], static_cast<int64_t>(distinct.size()));
    if (added) {
      distinct.push_back(labels[r]);
      first_row.push_back(r);
    }
    id[r] = last_id = it->second;
    last = labels[r];
  }
  const auto order = label_order(distinct);
  std::vector<int64_t> class_of(distinct.size());
  for (size_t k = 0; k < order.size(); ++k) {
    class_of[order[k]] = static_cast<int64_t>(k);
    tb.class_names.emplace_back(distinct[order[k]]);
    std::vector<Span> f;
    tb.split(tb.rows[first_row[order[k]]], f);
    tb.class_spans.push_back(f[tb.label_column]);
  }
  REBALANCE_CHECK(static_cast<int>(tb.class_names.size()) >= opt.min_classes,
                  "{}: label column \"{}\" holds {} class(es) ({}); need at least {}", path, tb.names[tb.label_column],
                  tb.class_names.size(), fmt::join(tb.class_names, ", "), opt.min_classes);
  tb.y.resize(n);
  for (int64_t r = 0; r < n; ++r) tb.y[r] = class_of[id[r]];
  return tb;
}

}  // namespace rebalance::csv

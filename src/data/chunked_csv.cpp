// CSV out of core: CsvRowSource (blocks of rows parsed by the in-memory reader) and its CSV sink.
#include <fcntl.h>
#include <unistd.h>

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <unordered_map>

#include "rebalance/core/error.hpp"
#include "rebalance/core/mapped_file.hpp"
#include "rebalance/core/number_text.hpp"
#include "rebalance/data/chunked.hpp"
#include "rebalance/data/csv_table.hpp"

namespace rebalance {

namespace {

constexpr size_t kReadBytes = size_t(8) << 20;

/// End of the physical row starting at `from` in `buf`: the position of its '\n' outside quotes,
/// or npos if the buffer ends first. `in_quote` carries the quote state across calls.
size_t row_end(const std::string& buf, size_t from, bool& in_quote) {
  size_t p = from;
  while (p < buf.size()) {
    if (!in_quote) {
      const void* nl = std::memchr(buf.data() + p, '\n', buf.size() - p);
      const size_t e = nl ? static_cast<size_t>(static_cast<const char*>(nl) - buf.data()) : buf.size();
      const void* q = std::memchr(buf.data() + p, '"', e - p);
      if (!q) return nl ? e : std::string::npos;
      p = static_cast<size_t>(static_cast<const char*>(q) - buf.data()) + 1;
      in_quote = true;
    } else {
      const void* q = std::memchr(buf.data() + p, '"', buf.size() - p);
      if (!q) return std::string::npos;
      p = static_cast<size_t>(static_cast<const char*>(q) - buf.data()) + 1;
      in_quote = false;  // a doubled quote "" closes and reopens: the same parity
    }
  }
  return std::string::npos;
}

bool blank(const std::string& buf, size_t b, size_t e, char delim) {
  for (size_t i = b; i < e; ++i) {
    const char c = buf[i];
    if (!(c == ' ' || c == '\r' || (c == '\t' && delim != '\t'))) return false;
  }
  return true;
}

/// "PATH:M: ..." of a block's mini file -> "PATH:L: ..." with the file's own line.
[[noreturn]] void rethrow_with_line(const Error& e, const std::string& path, int64_t line_of_second) {
  std::string m = e.what();
  const std::string head = path + ":";
  if (m.compare(0, head.size(), head) == 0) {
    size_t p = head.size(), q = p;
    while (q < m.size() && std::isdigit(static_cast<unsigned char>(m[q]))) ++q;
    if (q > p && q < m.size() && m[q] == ':') {
      const int64_t mini = std::stoll(m.substr(p, q - p));
      m = head + std::to_string(line_of_second + mini - 2) + m.substr(q);
    }
  }
  throw Error(m, e.where());
}

std::atomic<uint64_t> g_csv_tmp{0};

}  // namespace

CsvRowSource::~CsvRowSource() = default;

CsvRowSource::CsvRowSource(std::string path, const CsvOptions& options)
    : path_(std::move(path)), options_(std::make_unique<CsvOptions>(options)) {
  REBALANCE_CHECK(options.categorical.empty() && !options.allow_categorical && !options.categorical_ordinal,
                  "{}: out of core, features must be numeric (categorical columns need the whole file's vocabulary "
                  "in every block); drop them (--drop NAME) or resample in memory",
                  path_);
  options_->min_classes = 1;  // a block may hold one class; the file's classes are checked below
  options_->numeric_only = true;
  stamp_ = stamp_file(path_);
  dtype_ = at::kDouble;
  // The header: the first non-blank line (after a byte-order mark).
  std::string buf;
  uint64_t pos = 0;
  bool bom = false;
  for (;;) {
    int64_t line = 1;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kReadBytes, stamp_.size - pos));
    REBALANCE_CHECK(n > 0 || !buf.empty(), "{}: empty file, expected a header row and data", path_);
    const size_t old = buf.size();
    buf.resize(old + n);
    read_mapped(path_, stamp_, pos, n, buf.data() + old);
    pos += n;
    if (!bom && buf.size() >= 3 && buf.compare(0, 3, "\xEF\xBB\xBF") == 0) {
      bom = true;
      buf.erase(0, 3);
    }
    size_t start = 0;
    bool in_quote = false, found = false;
    while (true) {
      const size_t e = row_end(buf, start, in_quote);
      if (e == std::string::npos) {
        if (pos < stamp_.size) break;  // read more
        // The file ends inside the header line (or a file of one line).
        header_ = buf.substr(start) + "\n";
        body_ = stamp_.size;
        body_line_ = line;
        found = true;
        break;
      }
      if (!blank(buf, start, e, options_->delimiter ? options_->delimiter : ',')) {
        header_ = buf.substr(start, e + 1 - start);
        body_ = (bom ? 3 : 0) + e + 1;
        body_line_ = line + 1;
        found = true;
        break;
      }
      start = e + 1;
      ++line;
    }
    if (found) break;
    REBALANCE_CHECK(buf.size() < (size_t(64) << 20), "{}: no line end in the first 64 MiB; is this a CSV file?",
                    path_);
  }
  // The schema: the header with the first block of rows, parsed as in memory.
  bool seen = false;
  std::unordered_map<std::string, int64_t> index;
  std::vector<std::string> distinct, raw;
  std::vector<int64_t> counts;
  scan(65536, [&](int64_t, const csv::Table& t) {  // the labels pass: 65,536 rows at a time
    if (!seen) {
      // The schema from the header and the first row alone (the block itself is not kept).
      schema_ = std::make_unique<csv::Table>(
          csv::parse(MappedFile::from_bytes(header_ + std::string(t.raw(t.rows[0])) + "\n"), path_, *options_));
      cols_ = t.num_features();
      seen = true;
    }
    std::vector<int64_t> global(t.class_names.size());
    for (size_t k = 0; k < t.class_names.size(); ++k) {
      auto [it, added] = index.emplace(t.class_names[k], static_cast<int64_t>(distinct.size()));
      if (added) {
        distinct.push_back(t.class_names[k]);
        raw.emplace_back(t.raw(t.class_spans[k]));
        counts.push_back(0);
      }
      global[k] = it->second;
    }
    for (auto c : t.y) ++counts[global[c]];
    rows_ += t.num_rows();
  });
  REBALANCE_CHECK(seen, "{}: only a header row, no data", path_);
  // Classes sorted as read_csv sorts them: numerically when every label is a number.
  for (auto i : csv::label_order(std::vector<std::string_view>(distinct.begin(), distinct.end()))) {
    class_names_.push_back(distinct[i]);
    class_raw_.push_back(raw[i]);
    class_counts_.push_back(counts[i]);
  }
  REBALANCE_CHECK(class_names_.size() >= 2, "{}: label column \"{}\" holds {} class(es); need at least 2", path_,
                  schema_->names[schema_->label_column], class_names_.size());
}

const csv::Table& CsvRowSource::schema() const { return *schema_; }

const csv::Table& CsvRowSource::current_block() const {
  REBALANCE_CHECK(current_, "{}: no block is being read", path_);
  return *current_;
}

void CsvRowSource::scan(int64_t block_rows, const std::function<void(int64_t, const csv::Table&)>& fn) const {
  const char delim = options_->delimiter ? options_->delimiter : (schema_ ? schema_->delimiter : ',');
  std::string buf, mini;
  uint64_t pos = body_;
  int64_t line = body_line_, first = 0;
  for (;;) {
    // Up to block_rows complete non-blank rows at the front of buf, reading more as needed.
    size_t start = 0, cut = 0;
    int64_t rows = 0, lines = 0, lines_at_cut = 0;
    bool in_quote = false;
    bool eof = pos >= stamp_.size;
    while (rows < block_rows) {
      const size_t e = row_end(buf, start, in_quote);
      if (e == std::string::npos) {
        if (!eof) {
          const size_t n = static_cast<size_t>(std::min<uint64_t>(kReadBytes, stamp_.size - pos));
          const size_t old = buf.size();
          buf.resize(old + n);
          read_mapped(path_, stamp_, pos, n, buf.data() + old);
          pos += n;
          eof = pos >= stamp_.size;
          // Rescan the unfinished row from its start with a fresh quote state.
          in_quote = false;
          continue;
        }
        if (start < buf.size() && !blank(buf, start, buf.size(), delim)) ++rows;
        cut = buf.size();
        lines_at_cut = lines;
        break;
      }
      for (size_t i = start; i < e; ++i) lines += buf[i] == '\n';  // newlines inside quoted fields
      ++lines;
      if (!blank(buf, start, e, delim)) ++rows;
      start = e + 1;
      cut = start;
      lines_at_cut = lines;
    }
    if (rows == 0) return;
    mini.assign(header_);
    mini.append(buf, 0, cut);
    csv::Table t;
    try {
      t = csv::parse(MappedFile::from_bytes(mini), path_, *options_);
    } catch (const Error& e) {
      rethrow_with_line(e, path_, line);
    }
    fn(first, t);
    first += t.num_rows();
    line += lines_at_cut;
    buf.erase(0, cut);
    if (buf.empty() && pos >= stamp_.size) return;
  }
}

void CsvRowSource::for_each_block(int64_t block_rows, const BlockFn& fn) const {
  REBALANCE_CHECK(block_rows > 0, "block rows must be positive, got {}", block_rows);
  std::unordered_map<std::string, int64_t> class_of;
  for (size_t c = 0; c < class_names_.size(); ++c) class_of.emplace(class_names_[c], static_cast<int64_t>(c));
  scan(block_rows, [&](int64_t first, const csv::Table& t) {
    REBALANCE_CHECK(t.names == schema_->names, "{} changed during the run: its header differs", path_);
    const int64_t n = t.num_rows(), d = t.num_features();
    const auto x = torch::from_blob(const_cast<double*>(t.x.data()), {n, d}, torch::kFloat64);
    auto y = torch::empty({n}, torch::kInt64);
    std::vector<int64_t> global(t.class_names.size());
    for (size_t k = 0; k < t.class_names.size(); ++k) {
      const auto it = class_of.find(t.class_names[k]);
      REBALANCE_CHECK(it != class_of.end(), "{} changed during the run: it holds label \"{}\", which it did not hold "
                      "when the run began", path_, t.class_names[k]);
      global[k] = it->second;
    }
    int64_t* py = y.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) py[i] = global[t.y[i]];
    current_ = &t;
    try {
      fn(first, x, y);
    } catch (...) {
      current_ = nullptr;
      throw;
    }
    current_ = nullptr;
  });
}

// ---- the CSV sink ----

namespace {

class CsvSink final : public RowSink {
 public:
  CsvSink(const CsvRowSource& source, std::string path, bool provenance)
      : src_(source), path_(std::move(path)), provenance_(provenance) {
    const auto& s = source.schema();
    eol_ = s.crlf ? "\r\n" : "\n";
    delim_ = s.delimiter;
    dropped_ = std::find(s.roles.begin(), s.roles.end(), csv::Role::Dropped) != s.roles.end();
    feature_of_.assign(s.num_columns(), -1);
    for (int64_t j = 0; j < s.num_features(); ++j) feature_of_[s.feature_columns[j]] = j;
    if (provenance_)
      for (const char* name : {"origin", "parent0", "parent1"})
        REBALANCE_CHECK(std::find(s.names.begin(), s.names.end(), name) == s.names.end(),
                        "{}: already has a column \"{}\"; the provenance columns would clash with it", source.path(),
                        name);
  }
  ~CsvSink() override {
    if (file_) std::fclose(file_);
    if (!committed_ && !tmp_.empty()) ::unlink(tmp_.c_str());
  }

  void begin(int64_t total) override {
    total_ = total;
    tmp_ = fmt::format("{}.tmp-{}-{}", path_, ::getpid(), g_csv_tmp.fetch_add(1));
    file_ = std::fopen(tmp_.c_str(), "wbx");
    REBALANCE_CHECK(file_, "cannot write {}: {}", path_, std::strerror(errno));
    const auto& s = src_.schema();
    std::string head = s.bom ? "\xEF\xBB\xBF" : "";
    if (!dropped_) {
      head += s.raw(s.header);
    } else {
      bool first = true;
      for (int64_t c = 0; c < s.num_columns(); ++c)
        if (s.roles[c] != csv::Role::Dropped) {
          if (!first) head += delim_;
          head += s.raw(s.header_fields[c]);
          first = false;
        }
    }
    if (provenance_)
      for (const char* name : {"origin", "parent0", "parent1"}) (head += delim_) += name;
    head += eol_;
    write(head);
  }

  void put_original(int64_t first, const at::Tensor&, const at::Tensor&, const std::vector<int64_t>& local,
                    const std::vector<int64_t>& slots) override {
    const auto& t = src_.current_block();
    std::vector<csv::Span> f;
    for (size_t i = 0; i < local.size(); ++i) {
      std::string line;
      const auto row = t.rows[static_cast<size_t>(local[i])];
      if (!dropped_) {
        line += t.raw(row);
      } else {
        t.split(row, f);
        bool first_field = true;
        for (int64_t c = 0; c < t.num_columns(); ++c)
          if (t.roles[c] != csv::Role::Dropped) {
            if (!first_field) line += delim_;
            line += t.raw(f[c]);
            first_field = false;
          }
      }
      if (provenance_) line += fmt::format("{}{}{}-1{}-1", delim_, first + local[i], delim_, delim_);
      line += eol_;
      emit(slots[i], std::move(line));
    }
  }

  void put_new(int64_t slot, const at::Tensor& x_in, int64_t cls, const std::vector<int64_t>& parent0,
               const std::vector<int64_t>& parent1) override {
    const auto x = x_in.to(torch::kFloat64).contiguous();
    const double* px = x.data_ptr<double>();
    const auto& s = src_.schema();
    const int64_t m = x.size(0), d = x.size(1);
    for (int64_t r = 0; r < m; ++r) {
      std::string line;
      bool first = true;
      for (int64_t c = 0; c < s.num_columns(); ++c) {
        const auto role = s.roles[c];
        if (role == csv::Role::Dropped) continue;
        if (!first) line += delim_;
        first = false;
        if (role == csv::Role::Label)
          line += src_.class_raw()[static_cast<size_t>(cls)];
        else if (role == csv::Role::Feature)
          append_number(line, px[r * d + feature_of_[c]]);
      }
      if (provenance_) {
        const int64_t p0 = r < static_cast<int64_t>(parent0.size()) ? parent0[r] : -1;
        const int64_t p1 = r < static_cast<int64_t>(parent1.size()) ? parent1[r] : -1;
        line += fmt::format("{}-1{}{}{}{}", delim_, delim_, p0, delim_, p1);
      }
      line += eol_;
      emit(slot + r, std::move(line));
    }
  }

  void commit() override {
    REBALANCE_CHECK(waiting_.empty() && next_ == total_, "{}: {} of {} rows written ({} waiting)", path_, next_,
                    total_, waiting_.size());
    const bool flushed = std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
    const int e1 = errno;
    const bool closed = std::fclose(file_) == 0;
    const int e2 = errno;
    file_ = nullptr;
    REBALANCE_CHECK(flushed && closed, "cannot write {}: {}", path_, std::strerror(flushed ? e2 : e1));
    REBALANCE_CHECK(::rename(tmp_.c_str(), path_.c_str()) == 0, "cannot write {}: {}", path_, std::strerror(errno));
    committed_ = true;
  }

 private:
  void write(const std::string& text) {
    REBALANCE_CHECK(std::fwrite(text.data(), 1, text.size(), file_) == text.size(), "cannot write {}: {}", path_,
                    std::strerror(errno));
  }
  void emit(int64_t slot, std::string line) {
    if (slot != next_) {
      waiting_.emplace(slot, std::move(line));
      return;
    }
    write(line);
    ++next_;
    for (auto it = waiting_.begin(); it != waiting_.end() && it->first == next_; it = waiting_.erase(it)) {
      write(it->second);
      ++next_;
    }
  }

  const CsvRowSource& src_;
  std::string path_, tmp_, eol_;
  bool provenance_;
  char delim_ = ',';
  bool dropped_ = false;
  std::vector<int64_t> feature_of_;
  std::FILE* file_ = nullptr;
  int64_t total_ = 0, next_ = 0;
  std::map<int64_t, std::string> waiting_;
  bool committed_ = false;
};

}  // namespace

std::unique_ptr<RowSink> make_csv_sink(const CsvRowSource& source, const std::string& path, bool provenance_columns) {
  return std::make_unique<CsvSink>(source, path, provenance_columns);
}

}  // namespace rebalance

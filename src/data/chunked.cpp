#include "rebalance/data/chunked.hpp"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "rebalance/core/error.hpp"
#include "rebalance/data/npy.hpp"

namespace rebalance {

namespace {

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

FileStamp stamp_of(const struct stat& st) {
  FileStamp s;
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_ns = mtime_ns(st);
  s.inode = static_cast<uint64_t>(st.st_ino);
  s.device = static_cast<uint64_t>(st.st_dev);
  return s;
}

// A read through a mapping of a file that shrank after the run began faults with SIGBUS. The
// copy out of a window runs on the calling thread only, between sigsetjmp and the end of the
// copy, so the handler can jump back there and the reader reports the file as changed.
thread_local sigjmp_buf* t_bus_jump = nullptr;
struct sigaction g_previous_bus;
std::once_flag g_bus_once;

void on_bus(int sig, siginfo_t* info, void* context) {
  if (t_bus_jump) siglongjmp(*t_bus_jump, 1);
  // Not a window copy: behave as before this handler was installed.
  if (g_previous_bus.sa_flags & SA_SIGINFO) {
    if (g_previous_bus.sa_sigaction) return g_previous_bus.sa_sigaction(sig, info, context);
  } else if (g_previous_bus.sa_handler != SIG_DFL && g_previous_bus.sa_handler != SIG_IGN) {
    return g_previous_bus.sa_handler(sig);
  }
  signal(SIGBUS, SIG_DFL);
  raise(SIGBUS);
}

void install_bus_handler() {
  std::call_once(g_bus_once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &g_previous_bus);
  });
}

struct LabelType {
  const char* descr;
  int width;
};
constexpr LabelType kLabelTypes[] = {{"<i8", 8}, {"<i4", 4}, {"|u1", 1}, {"|b1", 1}};

std::string label_name(int64_t value, bool is_bool) {
  if (is_bool) return value ? "True" : "False";
  return std::to_string(value);
}

}  // namespace

FileStamp stamp_file(const std::string& path) {
  struct stat st {};
  REBALANCE_CHECK(::stat(path.c_str(), &st) == 0, "cannot read {}: {}", path, std::strerror(errno));
  return stamp_of(st);
}

void check_unchanged(const std::string& path, const FileStamp& was) {
  struct stat st {};
  REBALANCE_CHECK(::stat(path.c_str(), &st) == 0,
                  "{} changed during the run: it is gone ({}); an out-of-core input must stay in place until the "
                  "run ends", path, std::strerror(errno));
  const FileStamp now = stamp_of(st);
  if (now == was) return;
  std::string what;
  if (now.inode != was.inode || now.device != was.device)
    what = "it was replaced by another file";
  else if (now.size != was.size)
    what = fmt::format("its size went from {} to {} bytes", was.size, now.size);
  else
    what = "it was rewritten (its modification time moved)";
  REBALANCE_THROW("{} changed during the run: {}. An out-of-core input is read several times and must not change "
                  "until the run ends; nothing was written", path, what);
}

int64_t RowSource::row_bytes() const { return cols_ * static_cast<int64_t>(c10::elementSize(dtype_)); }

int64_t block_rows_for(int64_t row_bytes, int64_t requested) {
  if (requested > 0) return requested;
  return std::max<int64_t>(1, (int64_t(64) << 20) / std::max<int64_t>(1, row_bytes));
}

std::vector<RowSource::Gathered> RowSource::gather_classes(const std::vector<int64_t>& classes,
                                                           int64_t block_rows) const {
  std::vector<std::vector<at::Tensor>> parts(classes.size());
  std::vector<Gathered> out(classes.size());
  for (size_t k = 0; k < classes.size(); ++k) out[k].rows.reserve(static_cast<size_t>(class_counts_[classes[k]]));
  for_each_block(block_rows, [&](int64_t first, const at::Tensor& x, const at::Tensor& y) {
    const int64_t* py = y.data_ptr<int64_t>();
    for (size_t k = 0; k < classes.size(); ++k) {
      std::vector<int64_t> local;
      for (int64_t i = 0; i < y.size(0); ++i)
        if (py[i] == classes[k]) local.push_back(i);
      if (local.empty()) continue;
      for (auto i : local) out[k].rows.push_back(first + i);
      parts[k].push_back(x.index_select(0, torch::tensor(local, torch::kInt64)));
    }
  });
  for (size_t k = 0; k < classes.size(); ++k)
    out[k].x = parts[k].empty() ? torch::empty({0, cols_}, torch::TensorOptions().dtype(dtype_))
                                : torch::cat(parts[k]).contiguous();
  return out;
}

at::Tensor RowSource::gather_rows(const std::vector<int64_t>& rows, int64_t block_rows) const {
  std::vector<at::Tensor> parts;
  for_each_block(block_rows, [&](int64_t first, const at::Tensor& x, const at::Tensor&) {
    const auto lo = std::lower_bound(rows.begin(), rows.end(), first);
    const auto hi = std::lower_bound(lo, rows.end(), first + x.size(0));
    if (lo == hi) return;
    std::vector<int64_t> local;
    for (auto it = lo; it != hi; ++it) local.push_back(*it - first);
    parts.push_back(x.index_select(0, torch::tensor(local, torch::kInt64)));
  });
  if (parts.empty()) return torch::empty({0, cols_}, torch::TensorOptions().dtype(dtype_));
  return torch::cat(parts).contiguous();
}

NpyRowSource::NpyRowSource(std::string features_path, std::string labels_path)
    : x_path_(std::move(features_path)), y_path_(std::move(labels_path)) {
  REBALANCE_CHECK(!y_path_.empty(), "{}: out-of-core .npy features need their labels as a .npy file (--label Y.npy)",
                  x_path_);
  x_stamp_ = stamp_file(x_path_);
  y_stamp_ = stamp_file(y_path_);
  const NpyLayout lx = read_npy_layout(x_path_);
  REBALANCE_CHECK(lx.descr == "<f4" || lx.descr == "<f8",
                  "{}: out-of-core features must be float32 ('<f4') or float64 ('<f8'), got '{}'", x_path_, lx.descr);
  REBALANCE_CHECK(lx.shape.size() >= 2, "{}: features must be [rows, features], got shape ({})", x_path_,
                  fmt::join(lx.shape, ", "));
  REBALANCE_CHECK(!lx.fortran || lx.shape.size() < 2,
                  "{}: Fortran-order arrays are stored column by column and cannot be read a block of rows at a "
                  "time; save it with np.save(path, np.ascontiguousarray(X))", x_path_);
  dtype_ = lx.descr == "<f4" ? at::kFloat : at::kDouble;
  rows_ = lx.shape[0];
  cols_ = 1;
  for (size_t i = 1; i < lx.shape.size(); ++i) cols_ *= lx.shape[i];
  REBALANCE_CHECK(rows_ > 0 && cols_ > 0, "{}: the data set is empty (shape ({}))", x_path_, fmt::join(lx.shape, ", "));
  const auto need = lx.offset + static_cast<size_t>(rows_) * static_cast<size_t>(row_bytes());
  REBALANCE_CHECK(lx.file_size >= need, "{}: truncated .npy data: shape ({}) '{}' needs {} bytes after the header, the "
                  "file has {}", x_path_, fmt::join(lx.shape, ", "), lx.descr, need - lx.offset, lx.file_size - lx.offset);
  x_offset_ = lx.offset;

  const NpyLayout ly = read_npy_layout(y_path_);
  REBALANCE_CHECK(ly.shape.size() == 1, "{}: labels must be 1-D, got shape ({})", y_path_, fmt::join(ly.shape, ", "));
  REBALANCE_CHECK(ly.shape[0] == rows_, "{} has {} labels for the {} rows of {}", y_path_, ly.shape[0], rows_, x_path_);
  const LabelType* type = nullptr;
  for (const auto& t : kLabelTypes)
    if (ly.descr == t.descr) type = &t;
  REBALANCE_CHECK(type, "{}: out-of-core labels must be integers or bool (int64 '<i8', int32 '<i4', uint8 '|u1', bool "
                  "'|b1'), got '{}'; map string or float labels to integers first (np.unique(y, return_inverse=True))",
                  y_path_, ly.descr);
  label_descr_ = ly.descr;
  y_width_ = type->width;
  y_offset_ = ly.offset;
  REBALANCE_CHECK(ly.file_size >= ly.offset + static_cast<size_t>(rows_) * y_width_,
                  "{}: truncated .npy data: {} labels of {} bytes need {} bytes, the file has {}", y_path_, rows_,
                  y_width_, static_cast<size_t>(rows_) * y_width_, ly.file_size - ly.offset);

  // The labels' one pass: distinct values and their counts. Small non-negative values (the usual
  // 0..C-1) are counted in a table, anything else in a hash map.
  std::vector<int64_t> small(4096, 0);
  std::unordered_map<int64_t, int64_t> large;
  const int64_t block = int64_t(1) << 20;
  std::vector<int64_t> buf;
  for (int64_t first = 0; first < rows_; first += block) {
    const int64_t n = std::min(block, rows_ - first);
    buf.resize(static_cast<size_t>(n));
    read_labels(first, n, buf.data());
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = buf[i];
      if (v >= 0 && v < 4096)
        ++small[v];
      else
        ++large[v];
    }
  }
  std::vector<std::pair<int64_t, int64_t>> counts(large.begin(), large.end());
  for (int64_t v = 0; v < 4096; ++v)
    if (small[v]) counts.emplace_back(v, small[v]);
  std::sort(counts.begin(), counts.end());
  for (const auto& [v, n] : counts) {
    class_values_.push_back(v);
    class_names_.push_back(label_name(v, label_descr_ == "|b1"));
    class_counts_.push_back(n);
  }
}

std::string NpyRowSource::describe() const { return fmt::format("{} (labels {})", x_path_, y_path_); }

void read_mapped(const std::string& path, const FileStamp& stamp, size_t offset, size_t bytes, void* dst) {
  if (bytes == 0) return;
  install_bus_handler();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REBALANCE_CHECK(fd >= 0, "{} changed during the run: it can no longer be opened ({})", path, std::strerror(errno));
  struct stat st {};
  const bool same = ::fstat(fd, &st) == 0 && stamp_of(st) == stamp;
  if (!same) {
    ::close(fd);
    check_unchanged(path, stamp);  // names what changed
    REBALANCE_THROW("{} changed during the run", path);
  }
  // Mapped 8 MiB at a time: the file's pages count as resident while mapped, so a block costs
  // its own buffer plus one window, not twice its size.
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  constexpr size_t kWindow = size_t(8) << 20;
  size_t done = 0;
  bool faulted = false;
  int map_errno = 0;
  while (done < bytes && !faulted) {
    const size_t at = offset + done, part = std::min(kWindow, bytes - done);
    const size_t aligned = at / page * page, delta = at - aligned, length = part + delta;
    void* map = ::mmap(nullptr, length, PROT_READ, MAP_PRIVATE, fd, static_cast<off_t>(aligned));
    if (map == MAP_FAILED) {
      map_errno = errno;
      break;
    }
    ::madvise(map, length, MADV_SEQUENTIAL);
    sigjmp_buf jump;
    if (sigsetjmp(jump, 1) == 0) {
      t_bus_jump = &jump;
      std::memcpy(static_cast<char*>(dst) + done, static_cast<const char*>(map) + delta, part);
    } else {
      faulted = true;
    }
    t_bus_jump = nullptr;
    ::munmap(map, length);
    done += part;
  }
  ::close(fd);
  REBALANCE_CHECK(map_errno == 0, "cannot map {} at byte {}: {}", path, offset + done, std::strerror(map_errno));
  if (faulted) {
    check_unchanged(path, stamp);
    REBALANCE_THROW("{} changed during the run: reading bytes {}..{} failed (the file shrank)", path, offset,
                    offset + bytes);
  }
}

void NpyRowSource::read_labels(int64_t first, int64_t n, int64_t* out) const {
  const size_t offset = y_offset_ + static_cast<size_t>(first) * y_width_;
  if (y_width_ == 8) {  // straight into place
    read_mapped(y_path_, y_stamp_, offset, static_cast<size_t>(n) * 8, out);
    return;
  }
  // Narrow labels are read into the tail of `out` and widened front to back (each wide value
  // lands at or before the narrow bytes it comes from, which are read before being overwritten).
  unsigned char* raw = reinterpret_cast<unsigned char*>(out) + static_cast<size_t>(n) * (8 - y_width_);
  read_mapped(y_path_, y_stamp_, offset, static_cast<size_t>(n) * y_width_, raw);
  if (y_width_ == 4) {
    for (int64_t i = 0; i < n; ++i) {
      int32_t v;
      std::memcpy(&v, raw + 4 * i, 4);
      out[i] = v;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = raw[i];
  }
  if (label_descr_ == "|b1")
    for (int64_t i = 0; i < n; ++i) out[i] = out[i] != 0;
}

namespace {

/// Error naming the first non-finite value of a block, if any (no allocation: blocks stream).
template <class T>
void check_finite(const T* p, int64_t n, int64_t d, int64_t first, const std::string& path) {
  std::atomic<int64_t> bad{-1};
  at::parallel_for(0, n, 4096, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0 * d; i < r1 * d; ++i)
      if (!std::isfinite(p[i])) {
        int64_t want = -1;
        while (!bad.compare_exchange_weak(want, i) && (want < 0 || want > i)) {
        }
        return;
      }
  });
  const int64_t at = bad.load();
  if (at >= 0)
    REBALANCE_THROW("{}: row {}, column {} is {}; features must be finite", path, first + at / d, at % d,
                    static_cast<double>(p[at]));
}

}  // namespace

void NpyRowSource::for_each_block(int64_t block_rows, const BlockFn& fn) const {
  REBALANCE_CHECK(block_rows > 0, "block rows must be positive, got {}", block_rows);
  const int64_t rb = row_bytes();
  const bool table = !class_values_.empty() && class_values_.front() >= 0 && class_values_.back() < 4096;
  std::vector<int64_t> index_of(table ? static_cast<size_t>(class_values_.back() + 1) : 0, -1);
  for (size_t c = 0; c < class_values_.size() && table; ++c) index_of[class_values_[c]] = static_cast<int64_t>(c);
  // One buffer for every block of the pass: memory stays one block whatever the input's size.
  const int64_t cap = std::min(block_rows, rows_);
  const auto x_buffer = torch::empty({cap, cols_}, torch::TensorOptions().dtype(dtype_));
  const auto y_buffer = torch::empty({cap}, torch::kInt64);
  std::vector<int64_t> values(static_cast<size_t>(cap));
  for (int64_t first = 0; first < rows_; first += block_rows) {
    const int64_t n = std::min(block_rows, rows_ - first);
    const auto x = x_buffer.narrow(0, 0, n);
    read_mapped(x_path_, x_stamp_, x_offset_ + static_cast<size_t>(first) * rb, static_cast<size_t>(n * rb),
                x.data_ptr());
    if (dtype_ == at::kDouble)
      check_finite(x.data_ptr<double>(), n, cols_, first, x_path_);
    else
      check_finite(x.data_ptr<float>(), n, cols_, first, x_path_);
    read_labels(first, n, values.data());
    const auto y = y_buffer.narrow(0, 0, n);
    int64_t* py = y.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = values[i];
      int64_t c = -1;
      if (table && v >= 0 && v < static_cast<int64_t>(index_of.size())) {
        c = index_of[v];
      } else {
        const auto it = std::lower_bound(class_values_.begin(), class_values_.end(), v);
        if (it != class_values_.end() && *it == v) c = it - class_values_.begin();
      }
      // A value the opening pass did not see means the file changed without its stamp moving.
      REBALANCE_CHECK(c >= 0, "{} changed during the run: row {} holds label {}, which it did not hold when the run "
                      "began", y_path_, first + i, v);
      py[i] = c;
    }
    fn(first, x, y);
  }
}

// ---- NpyWriter ----

namespace {
std::atomic<uint64_t> g_tmp_counter{0};
}

NpyWriter::NpyWriter(std::string path, std::string descr, std::vector<int64_t> shape) : path_(std::move(path)) {
  REBALANCE_CHECK(!shape.empty(), "NpyWriter: {} needs a shape", path_);
  rows_ = shape[0];
  int64_t item = 0;
  if (descr == "<f8" || descr == "<i8") item = 8;
  else if (descr == "<f4" || descr == "<i4") item = 4;
  else if (descr == "|u1" || descr == "|b1") item = 1;
  REBALANCE_CHECK(item > 0, "NpyWriter: {}: unsupported dtype '{}'", path_, descr);
  row_bytes_ = item;
  for (size_t i = 1; i < shape.size(); ++i) row_bytes_ *= shape[i];
  tmp_ = fmt::format("{}.tmp-{}-{}", path_, ::getpid(), g_tmp_counter.fetch_add(1));
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  REBALANCE_CHECK(fd_ >= 0, "cannot write {}: {}", path_, std::strerror(errno));
  const std::string header = npy_header_bytes(descr, shape);
  header_ = header.size();
  const off_t total = static_cast<off_t>(header_ + static_cast<size_t>(rows_ * row_bytes_));
  // Reserve the whole file now: a disk too small fails here, before any work.
  const int rc = ::posix_fallocate(fd_, 0, total);
  if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
    fd_ = -1;
    REBALANCE_THROW("cannot write {}: {} ({} bytes needed)", path_, std::strerror(rc), total);
  }
  if (rc != 0 && ::ftruncate(fd_, total) != 0) {
    const int e = errno;
    ::close(fd_);
    ::unlink(tmp_.c_str());
    fd_ = -1;
    REBALANCE_THROW("cannot write {}: {}", path_, std::strerror(e));
  }
  size_t at = 0;
  while (at < header.size()) {
    const ssize_t w = ::pwrite(fd_, header.data() + at, header.size() - at, static_cast<off_t>(at));
    if (w <= 0) {
      const int e = w < 0 ? errno : ENOSPC;
      ::close(fd_);
      ::unlink(tmp_.c_str());
      fd_ = -1;
      REBALANCE_THROW("cannot write {}: {}", path_, std::strerror(e));
    }
    at += static_cast<size_t>(w);
  }
}

NpyWriter::~NpyWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!published_ && !tmp_.empty()) ::unlink(tmp_.c_str());
}

void NpyWriter::write_rows(int64_t row, const void* data, int64_t count) {
  if (count <= 0) return;
  REBALANCE_CHECK(fd_ >= 0, "NpyWriter: {} is already finished", path_);
  REBALANCE_CHECK(row >= 0 && row + count <= rows_, "NpyWriter: rows {}..{} outside the {} rows of {}", row,
                  row + count, rows_, path_);
  const char* p = static_cast<const char*>(data);
  size_t left = static_cast<size_t>(count * row_bytes_);
  off_t at = static_cast<off_t>(header_ + static_cast<size_t>(row * row_bytes_));
  while (left > 0) {
    const ssize_t w = ::pwrite(fd_, p, left, at);
    REBALANCE_CHECK(w > 0, "cannot write {}: {}", path_, std::strerror(w < 0 ? errno : ENOSPC));
    p += w;
    at += w;
    left -= static_cast<size_t>(w);
  }
}

void NpyWriter::finish() {
  if (fd_ < 0) return;
  const bool synced = ::fsync(fd_) == 0;
  const int e1 = errno;
  const bool closed = ::close(fd_) == 0;
  const int e2 = errno;
  fd_ = -1;
  REBALANCE_CHECK(synced && closed, "cannot write {}: {}", path_, std::strerror(synced ? e2 : e1));
}

void NpyWriter::publish() {
  finish();
  REBALANCE_CHECK(::rename(tmp_.c_str(), path_.c_str()) == 0, "cannot write {}: {}", path_, std::strerror(errno));
  published_ = true;
}

// ---- sinks ----

namespace {

class NpySink final : public RowSink {
 public:
  NpySink(const NpyRowSource& source, std::string x_path, std::string y_path, std::string p_path)
      : cols_(source.cols()),
        x_descr_(source.dtype() == at::kDouble ? "<f8" : "<f4"),
        y_descr_(source.label_descr()),
        values_(source.class_values()),
        x_path_(std::move(x_path)),
        y_path_(std::move(y_path)),
        p_path_(std::move(p_path)) {}

  void begin(int64_t total) override {
    x_ = std::make_unique<NpyWriter>(x_path_, x_descr_, std::vector<int64_t>{total, cols_});
    y_ = std::make_unique<NpyWriter>(y_path_, y_descr_, std::vector<int64_t>{total});
    if (!p_path_.empty()) p_ = std::make_unique<NpyWriter>(p_path_, "<i8", std::vector<int64_t>{total, 3});
  }

  void put_original(int64_t first, const at::Tensor& x, const at::Tensor& y, const std::vector<int64_t>& local,
                    const std::vector<int64_t>& slots) override {
    const char* px = static_cast<const char*>(x.data_ptr());
    const int64_t* py = y.data_ptr<int64_t>();
    const int64_t rb = x_->row_bytes();
    size_t i = 0;
    while (i < local.size()) {
      size_t j = i + 1;  // a run: consecutive source rows to consecutive output rows
      while (j < local.size() && local[j] == local[j - 1] + 1 && slots[j] == slots[j - 1] + 1) ++j;
      const int64_t count = static_cast<int64_t>(j - i);
      x_->write_rows(slots[i], px + local[i] * rb, count);
      std::vector<int64_t> cls(py + local[i], py + local[i] + count);
      write_labels(slots[i], cls);
      if (p_) {
        std::vector<int64_t> prov(static_cast<size_t>(3 * count), -1);
        for (int64_t r = 0; r < count; ++r) prov[3 * r] = first + local[i] + r;
        p_->write_rows(slots[i], prov.data(), count);
      }
      i = j;
    }
  }

  void put_new(int64_t slot, const at::Tensor& x, int64_t cls, const std::vector<int64_t>& parent0,
               const std::vector<int64_t>& parent1) override {
    const int64_t m = x.size(0);
    const auto xc = x.contiguous();
    x_->write_rows(slot, xc.data_ptr(), m);
    write_labels(slot, std::vector<int64_t>(static_cast<size_t>(m), cls));
    if (p_) {
      std::vector<int64_t> prov(static_cast<size_t>(3 * m), -1);
      for (int64_t r = 0; r < m; ++r) {
        prov[3 * r + 1] = r < static_cast<int64_t>(parent0.size()) ? parent0[r] : -1;
        prov[3 * r + 2] = r < static_cast<int64_t>(parent1.size()) ? parent1[r] : -1;
      }
      p_->write_rows(slot, prov.data(), m);
    }
  }

  void commit() override {
    // Every file complete on disk before any appears.
    x_->finish();
    y_->finish();
    if (p_) p_->finish();
    x_->publish();
    y_->publish();
    if (p_) p_->publish();
  }

 private:
  void write_labels(int64_t slot, const std::vector<int64_t>& classes) {
    const auto m = static_cast<int64_t>(classes.size());
    if (y_descr_ == "<i8") {
      std::vector<int64_t> v(classes.size());
      for (size_t i = 0; i < v.size(); ++i) v[i] = values_[classes[i]];
      y_->write_rows(slot, v.data(), m);
    } else if (y_descr_ == "<i4") {
      std::vector<int32_t> v(classes.size());
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(values_[classes[i]]);
      y_->write_rows(slot, v.data(), m);
    } else {
      std::vector<uint8_t> v(classes.size());
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(values_[classes[i]]);
      y_->write_rows(slot, v.data(), m);
    }
  }

  int64_t cols_;
  std::string x_descr_, y_descr_;
  std::vector<int64_t> values_;
  std::string x_path_, y_path_, p_path_;
  std::unique_ptr<NpyWriter> x_, y_, p_;
};

}  // namespace

std::unique_ptr<RowSink> make_npy_sink(const NpyRowSource& source, const std::string& features_path,
                                       const std::string& labels_path, const std::string& provenance_path) {
  return std::make_unique<NpySink>(source, features_path, labels_path, provenance_path);
}

void MemoryRowSink::begin(int64_t total) {
  x = torch::empty({total, cols}, torch::TensorOptions().dtype(dtype));
  y = torch::full({total}, int64_t(-1), torch::kInt64);
  origin = torch::full({total}, int64_t(-1), torch::kInt64);
  parents = torch::full({total, 2}, int64_t(-1), torch::kInt64);
}

void MemoryRowSink::put_original(int64_t first, const at::Tensor& xb, const at::Tensor& yb,
                                 const std::vector<int64_t>& local, const std::vector<int64_t>& slots) {
  const auto li = torch::tensor(local, torch::kInt64), si = torch::tensor(slots, torch::kInt64);
  x.index_copy_(0, si, xb.index_select(0, li));
  y.index_copy_(0, si, yb.index_select(0, li));
  origin.index_copy_(0, si, li + first);
}

void MemoryRowSink::put_new(int64_t slot, const at::Tensor& xn, int64_t cls, const std::vector<int64_t>& parent0,
                            const std::vector<int64_t>& parent1) {
  const int64_t m = xn.size(0);
  x.narrow(0, slot, m).copy_(xn);
  y.narrow(0, slot, m).fill_(cls);
  if (!parent0.empty()) parents.narrow(0, slot, m).select(1, 0).copy_(torch::tensor(parent0, torch::kInt64));
  if (!parent1.empty()) parents.narrow(0, slot, m).select(1, 1).copy_(torch::tensor(parent1, torch::kInt64));
}

}  // namespace rebalance

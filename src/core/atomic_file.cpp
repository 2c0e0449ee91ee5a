#include "rebalance/core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <streambuf>

#include "rebalance/core/error.hpp"

namespace rebalance {

namespace {

namespace fs = std::filesystem;

thread_local AtomicFileGroup* current_group = nullptr;

/// A stream buffer straight on a file descriptor that keeps the errno of the first failed write:
/// std::ofstream reports only "failed", and errno is long overwritten by the time it is checked.
/// Short writes (a disk filling up, a file size limit) are retried until write() fails.
class FdBuf final : public std::streambuf {
 public:
  explicit FdBuf(int fd) : fd_(fd), buf_(1 << 16) { setp(buf_.data(), buf_.data() + buf_.size()); }
  int error() const { return error_; }

 protected:
  int_type overflow(int_type c) override {
    if (!drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (n < static_cast<std::streamsize>(buf_.size()) / 2) return std::streambuf::xsputn(s, n);
    // Large blocks (tensor data) go out directly, without a copy through the buffer.
    if (!drain() || !put(s, static_cast<size_t>(n))) return 0;
    return n;
  }
  int sync() override { return drain() ? 0 : -1; }

 private:
  bool drain() {
    const auto n = static_cast<size_t>(pptr() - pbase());
    const bool ok = put(pbase(), n);
    setp(buf_.data(), buf_.data() + buf_.size());
    return ok;
  }
  bool put(const char* p, size_t n) {
    if (error_) return false;
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        error_ = w < 0 ? errno : EIO;
        return false;
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  int fd_;
  std::vector<char> buf_;
  int error_ = 0;
};

[[noreturn]] void fail(const std::string& path, int err) {
  REBALANCE_THROW("cannot write {}: {}", path, std::strerror(err));
}

void remove_quietly(const std::string& path) {
  std::error_code ignored;
  fs::remove(path, ignored);
}

/// Make a rename durable: fsync the directory that holds it (best effort; the file is in place).
void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

fs::path directory_of(const fs::path& target) { return target.has_parent_path() ? target.parent_path() : fs::path("."); }

void rename_into_place(const std::string& tmp, const std::string& path) {
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    remove_quietly(tmp);
    REBALANCE_THROW("cannot write {}: cannot rename {} over it: {}", path, tmp, ec.message());
  }
}

}  // namespace

AtomicFileGroup::AtomicFileGroup() : outer_(current_group) { current_group = this; }

AtomicFileGroup::~AtomicFileGroup() {
  current_group = outer_;
  for (const auto& [tmp, target] : staged_) remove_quietly(tmp);
}

void AtomicFileGroup::commit() {
  auto staged = std::move(staged_);
  staged_.clear();
  for (size_t i = 0; i < staged.size(); ++i) {
    try {
      rename_into_place(staged[i].first, staged[i].second);
    } catch (...) {
      for (size_t j = i + 1; j < staged.size(); ++j) remove_quietly(staged[j].first);
      throw;
    }
  }
  for (const auto& [tmp, target] : staged) sync_directory(directory_of(target));
}

void write_atomic(const std::string& path, const std::function<void(std::ostream&)>& write, bool binary) {
  (void)binary;  // POSIX has no text mode
  const fs::path target(path);
  const fs::path dir = directory_of(target);
  REBALANCE_CHECK(fs::is_directory(dir), "cannot write {}: directory {} does not exist", path, dir.string());
  REBALANCE_CHECK(!fs::is_directory(target), "cannot write {}: it is a directory", path);
  const std::string tmp = fmt::format("{}.tmp-{}-{:06x}", path, ::getpid(), std::random_device{}() & 0xffffff);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) fail(path, errno);
  int err = 0;
  try {
    FdBuf buf(fd);
    std::ostream out(&buf);
    out.exceptions(std::ios::badbit);  // stop the writer at the first failed write
    try {
      write(out);
      out.flush();
    } catch (...) {
      // After a failed write the writer's exception (the stream's ios_base::failure, of whichever
      // ABI) is its consequence: report the write error below, which says why.
      if (!buf.error()) throw;
    }
    err = buf.error();
    if (!err && !out.good()) err = EIO;
    if (!err && ::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) err = errno;  // EINVAL: no fsync here (a pipe)
  } catch (...) {
    ::close(fd);
    remove_quietly(tmp);
    throw;
  }
  // close() reports write errors deferred by the file system (NFS, quotas): they count too.
  if (::close(fd) != 0 && !err && errno != EINTR) err = errno;
  if (err) {
    remove_quietly(tmp);
    fail(path, err);
  }
  if (current_group) {
    current_group->staged_.emplace_back(tmp, path);
    return;
  }
  rename_into_place(tmp, path);
  sync_directory(dir);
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  REBALANCE_CHECK(fs::exists(path, ec), "{}: no such file", path);
  REBALANCE_CHECK(!fs::is_directory(path, ec), "{}: is a directory, expected a file", path);
  std::ifstream in(path, std::ios::binary);
  REBALANCE_CHECK(in.good(), "{}: cannot open: {}", path, std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace rebalance
